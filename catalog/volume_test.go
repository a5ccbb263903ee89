package catalog

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestVolumesAndPlacements(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		v1, err := c.UpsertVolume(ctx, Volume{Name: "v1", Path: "/a", Node: "n1"})
		if err != nil || v1.State != VolumeActive {
			t.Fatalf("UpsertVolume = %+v, %v", v1, err)
		}
		again, err := c.UpsertVolume(ctx, Volume{Name: "v1", Path: "/b", Node: "n1", State: VolumeReadonly})
		if err != nil || again.ID != v1.ID || again.Path != "/b" || again.State != VolumeReadonly {
			t.Fatalf("second UpsertVolume = %+v, %v; want id %d updated", again, err, v1.ID)
		}
		v2, _ := c.UpsertVolume(ctx, Volume{Name: "v2", Path: "/c", Node: "n2"})
		for _, bad := range []Volume{{Name: "", Path: "/x"}, {Name: "x"}, {Name: "x", Path: "/x", State: "broken"}} {
			if _, err := c.UpsertVolume(ctx, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("UpsertVolume(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
		vols, err := c.Volumes(ctx)
		if err != nil || len(vols) != 2 || vols[0].Name != "v1" || vols[1].Node != "n2" {
			t.Fatalf("Volumes = %+v, %v", vols, err)
		}

		u := mustUser(t, c, RoleUser)
		a := mustTorrent(t, c, u.ID, v1, "a", 100)  // verified on v1 (n1)
		b := mustTorrent(t, c, u.ID, v1, "b", 100)  // verified on v1, then deleted
		cc := mustTorrent(t, c, u.ID, v2, "c", 100) // on n2 only
		d := mustTorrent(t, c, u.ID, v1, "d", 100)  // corrupt on v1
		if err := c.SetTorrentState(ctx, b.InfoHash, StateDeleted); err != nil {
			t.Fatal(err)
		}
		if err := c.SetReplicaState(ctx, d.ID, v1.ID, "n1", ReplicaCorrupt); err != nil {
			t.Fatal(err)
		}
		// c gets a second replica on n1: copying first, then verified.
		if err := c.SetReplicaState(ctx, cc.ID, v1.ID, "n1", ReplicaCopying); err != nil {
			t.Fatal(err)
		}
		reps, err := c.ReplicasOf(ctx, cc.ID)
		if err != nil || len(reps) != 2 || reps[0].State != ReplicaCopying || reps[1].VolumeName != "v2" {
			t.Fatalf("ReplicasOf(c) = %+v, %v", reps, err)
		}
		if err := c.SetReplicaState(ctx, cc.ID, v1.ID, "n1", ReplicaVerified); err != nil {
			t.Fatal(err)
		}
		if err := c.SetReplicaState(ctx, cc.ID, 987654, "n1", ReplicaVerified); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetReplicaState(unknown volume) = %v, want ErrNotFound", err)
		}
		if err := c.SetReplicaState(ctx, cc.ID, v1.ID, "n1", "great"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("SetReplicaState(bad state) = %v, want ErrInvalid", err)
		}

		got, err := c.PlacementsOnNode(ctx, "n1")
		if err != nil {
			t.Fatal(err)
		}
		want := []Placement{
			{TorrentID: a.ID, InfoHash: a.InfoHash, VolumeName: "v1", VolumeID: v1.ID},
			{TorrentID: cc.ID, InfoHash: cc.InfoHash, VolumeName: "v1", VolumeID: v1.ID},
		}
		if len(got) != len(want) {
			t.Fatalf("PlacementsOnNode(n1) = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].TorrentID != want[i].TorrentID || got[i].InfoHash != want[i].InfoHash ||
				got[i].VolumeName != want[i].VolumeName || got[i].VolumeID != want[i].VolumeID {
				t.Fatalf("PlacementsOnNode(n1)[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
		if b, err := c.InfoBytes(ctx, a.InfoHash); err != nil || string(b) != string(a.InfoBytes) {
			t.Fatalf("InfoBytes = %q, %v", b, err)
		}
		if _, err := c.InfoBytes(ctx, strings.Repeat("ab", 20)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("InfoBytes(unknown) = %v, want ErrNotFound", err)
		}
		if err := c.DeleteReplica(ctx, cc.ID, v1.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := c.PlacementsOnNode(ctx, "n1"); err != nil || len(got) != 1 {
			t.Fatalf("PlacementsOnNode(n1) after DeleteReplica = %+v, %v", got, err)
		}
		if got, err := c.PlacementsOnNode(ctx, "n9"); err != nil || len(got) != 0 {
			t.Fatalf("PlacementsOnNode(n9) = %+v, %v", got, err)
		}
	})
}
