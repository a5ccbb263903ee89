package catalog

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestTrackerChanges(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		box, err := c.EnsureSeedboxUser(ctx, "seedbox")
		if err != nil {
			t.Fatal(err)
		}
		tor := mustTorrent(t, c, u.ID, mustVolume(t, c, "vol1"), "feed", 1000)

		users, torrents, revoked, wm, err := c.TrackerChanges(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		wantUsers := []PasskeyEntry{{Passkey: u.Passkey, UserID: u.ID}, {Passkey: box.Passkey, UserID: box.ID, Seedbox: true}}
		wantTorrents := []TorrentEntry{{InfoHash: tor.InfoHash, TorrentID: tor.ID, Allowed: true}}
		if !slices.Equal(users, wantUsers) || !slices.Equal(torrents, wantTorrents) || len(revoked) != 0 {
			t.Fatalf("first TrackerChanges = %+v %+v %v, want %+v %+v", users, torrents, revoked, wantUsers, wantTorrents)
		}
		if time.Until(wm) > -FeedOverlap+time.Second || time.Until(wm) < -FeedOverlap-time.Minute {
			t.Fatalf("watermark %v is not about now - %v", wm, FeedOverlap)
		}

		newKey, err := c.RotatePasskey(ctx, u.ID)
		if err != nil || newKey == u.Passkey || !isHex(newKey, 32) {
			t.Fatalf("RotatePasskey = %q, %v", newKey, err)
		}
		if err := c.SetTorrentState(ctx, tor.InfoHash, StateDeleted); err != nil {
			t.Fatal(err)
		}
		users, torrents, revoked, wm2, err := c.TrackerChanges(ctx, wm)
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(users, func(e PasskeyEntry) bool { return e.UserID == u.ID }); i < 0 || users[i].Passkey != newKey {
			t.Fatalf("users after rotation = %+v, want the new passkey %s", users, newKey)
		}
		if !slices.Equal(revoked, []string{u.Passkey}) {
			t.Fatalf("revoked = %v, want the old passkey %s", revoked, u.Passkey)
		}
		if !slices.Equal(torrents, []TorrentEntry{{InfoHash: tor.InfoHash, TorrentID: tor.ID, Allowed: false}}) {
			t.Fatalf("torrents after delete = %+v, want it disallowed", torrents)
		}
		if wm2.Before(wm) {
			t.Fatalf("watermark went back from %v to %v", wm, wm2)
		}

		if err := c.SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		users, _, _, _, err = c.TrackerChanges(ctx, wm2)
		if err != nil || !slices.Contains(users, PasskeyEntry{Passkey: newKey, UserID: u.ID, Disabled: true}) {
			t.Fatalf("users after disabling = %+v, %v", users, err)
		}

		// Nothing changed after a later watermark: empty feed, same watermark.
		later := time.Now().Add(time.Hour)
		users, torrents, revoked, wm3, err := c.TrackerChanges(ctx, later)
		if err != nil || len(users)+len(torrents)+len(revoked) != 0 || !wm3.Equal(later.UTC()) {
			t.Fatalf("TrackerChanges(future) = %v %v %v %v, %v", users, torrents, revoked, wm3, err)
		}
	})
}
