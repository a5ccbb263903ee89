package catalog

import (
	"context"
	"errors"
	"testing"
)

func TestActiveReplicas(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		v1, _ := c.UpsertVolume(ctx, Volume{Name: "v1", Path: "/a", Node: "n1"})
		v2, _ := c.UpsertVolume(ctx, Volume{Name: "v2", Path: "/b", Node: "n1", State: VolumeMaintenance})
		u := mustUser(t, c, RoleUser)
		a := mustTorrent(t, c, u.ID, v1, "a", 100)
		b := mustTorrent(t, c, u.ID, v1, "b", 200)
		if err := c.SetReplicaStateByHash(ctx, a.InfoHash, v2.ID, "n1", ReplicaCopying); err != nil {
			t.Fatal(err)
		}
		if err := c.SetTorrentState(ctx, b.InfoHash, StateDeleted); err != nil {
			t.Fatal(err)
		}
		if err := c.SetReplicaStateByHash(ctx, "00"+a.InfoHash[2:], v1.ID, "n1", ReplicaVerified); !errors.Is(err, ErrNotFound) && a.InfoHash[:2] != "00" {
			t.Fatalf("unknown torrent: %v", err)
		}
		rows, err := c.ActiveReplicas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []ReplicaRow{
			{TorrentID: a.ID, InfoHash: a.InfoHash, Size: 100, VolumeID: v1.ID, VolumeName: "v1", VolumeNode: "n1", VolumeState: VolumeActive, Node: "n1", State: ReplicaVerified},
			{TorrentID: a.ID, InfoHash: a.InfoHash, Size: 100, VolumeID: v2.ID, VolumeName: "v2", VolumeNode: "n1", VolumeState: VolumeMaintenance, Node: "n1", State: ReplicaCopying},
		}
		if len(rows) != len(want) {
			t.Fatalf("ActiveReplicas = %+v, want %+v", rows, want)
		}
		for i := range want {
			if rows[i] != want[i] {
				t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
			}
		}
	})
}

func TestClaimReplica(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		v1, _ := c.UpsertVolume(ctx, Volume{Name: "v1", Path: "/a", Node: "n1"})
		v2, _ := c.UpsertVolume(ctx, Volume{Name: "v2", Path: "/b", Node: "n2"})
		v3, _ := c.UpsertVolume(ctx, Volume{Name: "v3", Path: "/c", Node: "n3"})
		for _, n := range []string{"n1", "n2", "n3"} {
			if err := c.Heartbeat(ctx, Node{Name: n}); err != nil {
				t.Fatal(err)
			}
		}
		u := mustUser(t, c, RoleUser)
		a := mustTorrent(t, c, u.ID, v1, "a", 100)
		if ok, err := c.ClaimReplica(ctx, a.InfoHash, v2.ID, "n2", 2); !ok || err != nil {
			t.Fatalf("first claim = %v, %v", ok, err)
		}
		if ok, err := c.ClaimReplica(ctx, a.InfoHash, v3.ID, "n3", 2); ok || err != nil {
			t.Fatalf("claim past the wanted count = %v, %v", ok, err)
		}
		if ok, err := c.ClaimReplica(ctx, a.InfoHash, v2.ID, "n2", 2); !ok || err != nil {
			t.Fatalf("claim again of one's own copying replica = %v, %v", ok, err)
		}
		if _, err := c.ClaimReplica(ctx, "ff"+a.InfoHash[2:], v3.ID, "n3", 2); !errors.Is(err, ErrNotFound) && a.InfoHash[:2] != "ff" {
			t.Fatalf("unknown torrent: %v", err)
		}
		reps, _ := c.ReplicasOf(ctx, a.ID)
		if len(reps) != 2 || reps[1].State != ReplicaCopying || reps[1].Node != "n2" {
			t.Fatalf("replicas = %+v", reps)
		}
	})
}
