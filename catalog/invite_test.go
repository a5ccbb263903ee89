package catalog

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRegisterAndInvites(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		admin := mustUser(t, c, RoleAdmin)
		u, err := c.Register(ctx, Registration{Name: "newbie", Email: "Newbie@Campus.example", Password: "password123"})
		if err != nil || u.Role != RoleUser {
			t.Fatalf("Register = %+v, %v", u, err)
		}
		if e, _ := c.UserEmail(ctx, u.ID); e != "newbie@campus.example" {
			t.Errorf("email %q", e)
		}
		if _, err := c.Authenticate(ctx, "newbie", "password123"); err != nil {
			t.Errorf("cannot sign in after registering: %v", err)
		}
		for _, r := range []Registration{
			{Name: "NEWBIE", Password: "password123"},
			{Name: "other", Email: "newbie@campus.example", Password: "password123"},
		} {
			if _, err := c.Register(ctx, r); !errors.Is(err, ErrConflict) {
				t.Errorf("Register(%+v) = %v, want ErrConflict", r, err)
			}
		}
		if _, err := c.Register(ctx, Registration{Name: "x", Password: "password123"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad name: %v", err)
		}
		if _, err := c.Register(ctx, Registration{Name: "mailer", Email: "not an address", Password: "password123"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad email: %v", err)
		}
		code, err := c.CreateInvite(ctx, admin.ID)
		if err != nil {
			t.Fatal(err)
		}
		if inv, _ := c.Invites(ctx); len(inv) != 1 || inv[0].CreatedBy != admin.ID {
			t.Fatalf("Invites = %+v", inv)
		}
		if _, err := c.Register(ctx, Registration{Name: "guesser", Password: "password123", Invite: "inv_nope"}); !errors.Is(err, ErrBadInvite) {
			t.Errorf("wrong code: %v", err)
		}
		if _, err := c.UserByName(ctx, "guesser"); !errors.Is(err, ErrNotFound) {
			t.Error("a refused registration left its user")
		}
		if _, err := c.Register(ctx, Registration{Name: "invited", Password: "password123", Invite: code}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Register(ctx, Registration{Name: "second", Password: "password123", Invite: code}); !errors.Is(err, ErrBadInvite) {
			t.Errorf("reused code: %v", err)
		}
		if inv, _ := c.Invites(ctx); len(inv) != 0 {
			t.Errorf("used invite still listed: %+v", inv)
		}
	})
}

func TestListUsersAndActivity(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		other := mustUser(t, c, RoleModerator)
		if _, err := c.EnsureSeedboxUser(ctx, "seedbox.n1"); err != nil {
			t.Fatal(err)
		}
		vol := mustVolume(t, c, "vol1")
		a := mustTorrent(t, c, u.ID, vol, "a", 1000)
		b := mustTorrent(t, c, u.ID, vol, "b", 1000)
		gone := mustTorrent(t, c, u.ID, vol, "gone", 1000)
		users, err := c.ListUsers(ctx, "", 100)
		if err != nil || len(users) != 2 {
			t.Fatalf("ListUsers = %+v, %v (the seedbox must not be listed)", users, err)
		}
		if users[0].ID != u.ID || users[0].Torrents != 3 || users[1].Role != RoleModerator {
			t.Errorf("ListUsers = %+v", users)
		}
		if got, _ := c.ListUsers(ctx, other.Name[len(other.Name)-2:], 100); len(got) == 0 {
			t.Error("name search found nothing")
		}
		if got, _ := c.ListUsers(ctx, "%", 100); len(got) != 0 {
			t.Errorf("%% is not literal: %+v", got)
		}
		since := time.Now().Add(-time.Minute)
		err = c.ApplyStats(ctx, []StatDelta{{UserID: u.ID, TorrentID: a.ID, Uploaded: 10, Completed: true},
			{UserID: u.ID, TorrentID: b.ID, Downloaded: 10}, {UserID: u.ID, TorrentID: gone.ID, Downloaded: 5}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetTorrentState(ctx, gone.InfoHash, StateDeleted); err != nil {
			t.Fatal(err)
		}
		act, err := c.UserActiveTorrents(ctx, u.ID, since, 10)
		if err != nil || len(act) != 2 {
			t.Fatalf("UserActiveTorrents = %+v, %v", act, err)
		}
		seeding := map[string]bool{}
		for _, x := range act {
			seeding[x.Name] = x.Seeding
		}
		if !seeding["a"] || seeding["b"] {
			t.Errorf("seeding flags %v", seeding)
		}
		if act, _ := c.UserActiveTorrents(ctx, u.ID, time.Now().Add(time.Minute), 10); len(act) != 0 {
			t.Errorf("activity in the future: %+v", act)
		}
	})
}
