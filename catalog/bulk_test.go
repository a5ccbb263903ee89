package catalog

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBulkCreateUsersAndTorrents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		names := make([]string, 1200) // more than one batch
		for i := range names {
			names[i] = fmt.Sprintf("bulk%04d", i)
		}
		users, err := c.BulkCreateUsers(ctx, names, RoleUser)
		if err != nil {
			t.Fatalf("BulkCreateUsers: %v", err)
		}
		if len(users) != len(names) || users[0].ID == 0 || users[0].ID == users[1].ID || len(users[5].Passkey) != 32 {
			t.Fatalf("users not filled in: %+v %+v", users[0], users[1])
		}
		if _, err := c.Authenticate(ctx, names[0], ""); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("a bulk user signed in without a password: %v", err)
		}
		ts := make([]Torrent, 1100)
		for i := range ts {
			ts[i] = *testTorrent(users[i%len(users)].ID, fmt.Sprintf("bulk-%d", i), 1000)
		}
		if err := c.BulkCreateTorrents(ctx, ts); err != nil {
			t.Fatalf("BulkCreateTorrents: %v", err)
		}
		got, err := c.TorrentByInfoHash(ctx, ts[1099].InfoHash)
		if err != nil || got.ID != ts[1099].ID || len(got.Files) != 2 {
			t.Fatalf("TorrentByInfoHash = %+v, %v; want ID %d with 2 files", got, err, ts[1099].ID)
		}
		feedUsers, feedTorrents, _, _, err := c.TrackerChanges(ctx, time.Time{})
		if err != nil || len(feedUsers) != len(users) || len(feedTorrents) != len(ts) {
			t.Fatalf("TrackerChanges: %d users, %d torrents, %v", len(feedUsers), len(feedTorrents), err)
		}
		dup := []Torrent{*testTorrent(users[0].ID, "bulk-new", 1000), *testTorrent(users[0].ID, "bulk-0", 1000)}
		if err := c.BulkCreateTorrents(ctx, dup); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate infohash: %v, want ErrConflict", err)
		}
		if _, err := c.TorrentByInfoHash(ctx, dup[0].InfoHash); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a failed bulk insert left a torrent behind: %v", err)
		}
		if _, err := c.BulkCreateUsers(ctx, []string{"fresh1", "BULK0000"}, RoleUser); !errors.Is(err, ErrConflict) {
			t.Fatalf("taken name: %v, want ErrConflict", err)
		}
		if _, err := c.UserByName(ctx, "fresh1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a failed bulk insert left a user behind: %v", err)
		}
	})
}
