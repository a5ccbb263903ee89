package catalog

import (
	"context"
	"errors"
	"testing"
)

func TestApplyStats(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		a, b := mustUser(t, c, RoleUser), mustUser(t, c, RoleUser)
		vol := mustVolume(t, c, "vol1")
		t1 := mustTorrent(t, c, a.ID, vol, "t1", 1000)
		t2 := mustTorrent(t, c, a.ID, vol, "t2", 1000)
		batches := [][]StatDelta{
			{
				{UserID: a.ID, TorrentID: t1.ID, Uploaded: 100},
				{UserID: b.ID, TorrentID: t1.ID, Downloaded: 100},
				{UserID: b.ID, TorrentID: t1.ID, Downloaded: 900, Completed: true}, // merged with the one above
			},
			{
				{UserID: a.ID, TorrentID: t1.ID, Uploaded: 900},
				{UserID: b.ID, TorrentID: t1.ID, Completed: true}, // again: no second snatch
				{UserID: a.ID, TorrentID: t2.ID, Downloaded: 1000, Completed: true},
				{UserID: b.ID, TorrentID: t2.ID, Uploaded: 1 << 40},
			},
			nil,
		}
		for i, batch := range batches {
			if err := c.ApplyStats(ctx, batch); err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
		}
		// A delta for an unknown torrent fails the whole batch.
		err := c.ApplyStats(ctx, []StatDelta{{UserID: a.ID, TorrentID: t1.ID, Uploaded: 5}, {UserID: a.ID, TorrentID: 987654, Uploaded: 5}})
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("ApplyStats(unknown torrent) = %v, want ErrNotFound", err)
		}
		if err := c.ApplyStats(ctx, []StatDelta{{UserID: a.ID, TorrentID: t1.ID, Uploaded: -1}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("ApplyStats(negative) = %v, want ErrInvalid", err)
		}

		users := []struct {
			id       uint64
			up, down int64
			t1, t2   *UserTorrentStats
		}{
			{id: a.ID, up: 1000, down: 1000,
				t1: &UserTorrentStats{Uploaded: 1000}, t2: &UserTorrentStats{Downloaded: 1000, Completed: true}},
			{id: b.ID, up: 1 << 40, down: 1000,
				t1: &UserTorrentStats{Downloaded: 1000, Completed: true}, t2: &UserTorrentStats{Uploaded: 1 << 40}},
		}
		for _, want := range users {
			u, err := c.UserByID(ctx, want.id)
			if err != nil || u.Uploaded != want.up || u.Downloaded != want.down {
				t.Fatalf("user %d totals = %d up %d down, %v; want %d up %d down", want.id, u.Uploaded, u.Downloaded, err, want.up, want.down)
			}
			for tid, w := range map[uint64]*UserTorrentStats{t1.ID: want.t1, t2.ID: want.t2} {
				got, err := c.UserTorrentStats(ctx, want.id, tid)
				if err != nil || got.Uploaded != w.Uploaded || got.Downloaded != w.Downloaded || got.Completed != w.Completed {
					t.Fatalf("history of user %d torrent %d = %+v, %v; want %+v", want.id, tid, got, err, w)
				}
			}
		}
		for _, tt := range []struct {
			tor  *Torrent
			want int64
		}{{t1, 1}, {t2, 1}} {
			got, err := c.TorrentByInfoHash(ctx, tt.tor.InfoHash)
			if err != nil || got.Snatches != tt.want {
				t.Fatalf("snatches of %s = %d, %v; want %d", tt.tor.Name, got.Snatches, err, tt.want)
			}
		}
		if _, err := c.UserTorrentStats(ctx, b.ID, 987654); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UserTorrentStats(unknown) = %v, want ErrNotFound", err)
		}
	})
}
