package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// TestApplyStatsConcurrentFirstCompletion has two catalog handles (two
// nodes) flush the same user's first completion of each torrent at the same
// moment: every torrent gets exactly one snatch, and batches locking rows in
// opposite torrent orders never deadlock.
func TestApplyStatsConcurrentFirstCompletion(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			url := testURL(t, d)
			c1, c2 := openTest(t, url), openTest(t, url)
			applyStatsRace(t, c1, c2)
		})
	}
}

func applyStatsRace(t *testing.T, c1, c2 *Catalog) {
	{
		ctx := context.Background()
		u := mustUser(t, c1, RoleUser)
		vol := mustVolume(t, c1, "vol1")
		var ts []*Torrent
		for i := 0; i < 30; i++ {
			ts = append(ts, mustTorrent(t, c1, u.ID, vol, fmt.Sprintf("race%d", i), 1000))
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*len(ts))
		for i, tor := range ts {
			other := ts[len(ts)-1-i]
			for _, c := range []*Catalog{c1, c2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- c.ApplyStats(ctx, []StatDelta{
						{UserID: u.ID, TorrentID: tor.ID, Downloaded: 1000, Completed: true},
						{UserID: u.ID, TorrentID: other.ID, Uploaded: 10},
					})
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var total int64
		if err := c1.w.Raw("SELECT COALESCE(SUM(snatches), 0) FROM torrents").Scan(&total).Error; err != nil {
			t.Fatal(err)
		}
		if total != int64(len(ts)) {
			t.Fatalf("%d snatches over %d torrents, want one each", total, len(ts))
		}
	}
}
