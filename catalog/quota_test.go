package catalog

import (
	"context"
	"errors"
	"testing"
)

func TestUsageAndQuotas(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		alice, bob := mustUser(t, c, RoleUser), mustUser(t, c, RoleUser)
		u, err := c.Usage(ctx, alice.ID)
		if err != nil || u.UserQuota != nil || u.UserUsed != 0 || u.GroupID != 0 {
			t.Fatalf("fresh usage %+v %v", u, err)
		}
		q := int64(5000)
		if err := c.SetUserQuota(ctx, alice.ID, &q); err != nil {
			t.Fatal(err)
		}
		neg := int64(-1)
		if err := c.SetUserQuota(ctx, alice.ID, &neg); !errors.Is(err, ErrInvalid) {
			t.Errorf("negative quota: %v", err)
		}
		if err := c.SetUserQuota(ctx, 99999, &q); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
		gq := int64(9000)
		g, err := c.CreateGroup(ctx, "Dorm A", &gq)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateGroup(ctx, "dorm a", nil); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate group name: %v", err)
		}
		for _, id := range []uint64{alice.ID, bob.ID} {
			if err := c.SetUserGroup(ctx, id, &g.ID); err != nil {
				t.Fatal(err)
			}
		}
		vol := mustVolume(t, c, "q1")
		mustTorrent(t, c, alice.ID, vol, "quota-a", 1000)
		mustTorrent(t, c, bob.ID, vol, "quota-b", 300)
		gone := mustTorrent(t, c, alice.ID, vol, "quota-c", 7000)
		if err := c.SetTorrentState(ctx, gone.InfoHash, "deleted"); err != nil {
			t.Fatal(err)
		}
		u, err = c.Usage(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *u.UserQuota != 5000 || u.UserUsed != 1000 || u.GroupName != "Dorm A" || *u.GroupQuota != 9000 || u.GroupUsed != 1300 {
			t.Errorf("usage %+v", u)
		}
		if len(u.GroupMembers) != 2 || u.GroupMembers[0] != alice.ID || u.GroupMembers[1] != bob.ID {
			t.Errorf("group members %v, want [%d %d]", u.GroupMembers, alice.ID, bob.ID)
		}
		if gid, err := c.UserGroupID(ctx, bob.ID); err != nil || gid != g.ID {
			t.Errorf("UserGroupID(bob) = %d, %v; want %d", gid, err, g.ID)
		}
		carol := mustUser(t, c, RoleUser)
		if gid, err := c.UserGroupID(ctx, carol.ID); err != nil || gid != 0 {
			t.Errorf("UserGroupID(carol) = %d, %v; want 0", gid, err)
		}
		if gs, err := c.Groups(ctx); err != nil || len(gs) != 1 {
			t.Errorf("groups %v %v", gs, err)
		}
		if got, err := c.GroupByName(ctx, "DORM A"); err != nil || got.ID != g.ID {
			t.Errorf("GroupByName: %v %v", got, err)
		}
	})
}
