package catalog

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestPlanTrim(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	ok := func(vol uint64, node string, h int) TrimCopy {
		return TrimCopy{VolumeID: vol, Node: node, State: ReplicaVerified, VolumeState: VolumeActive, NodeOnline: true, CreatedAt: at(h)}
	}
	with := func(c TrimCopy, f func(*TrimCopy)) TrimCopy { f(&c); return c }
	tests := []struct {
		name   string
		copies []TrimCopy
		want   int
		drop   []uint64
	}{
		{"exactly enough", []TrimCopy{ok(1, "a", 0), ok(2, "b", 1)}, 2, nil},
		{"copy made while a was away goes", []TrimCopy{ok(1, "a", 0), ok(2, "b", 1), ok(3, "c", 5)}, 2, []uint64{3}},
		{"oldest stay whatever the volume order", []TrimCopy{ok(3, "c", 0), ok(2, "b", 5), ok(1, "a", 1)}, 2, []uint64{2}},
		{"same age: lower volume id stays", []TrimCopy{ok(2, "b", 0), ok(1, "a", 0), ok(3, "c", 0)}, 2, []uint64{3}},
		{"distinct nodes first", []TrimCopy{ok(1, "a", 0), ok(2, "a", 1), ok(3, "b", 2)}, 2, []uint64{2}},
		{"same node when nodes run out", []TrimCopy{ok(1, "a", 0), ok(2, "a", 1), ok(3, "a", 2)}, 2, []uint64{3}},
		{"down to one", []TrimCopy{ok(1, "a", 3), ok(2, "b", 1), ok(3, "c", 2)}, 1, []uint64{1, 3}},
		{"offline copies neither count nor go", []TrimCopy{ok(1, "a", 0), with(ok(2, "b", 1), func(c *TrimCopy) { c.NodeOnline = false }), ok(3, "c", 2)}, 2, nil},
		{"maintenance copies neither count nor go", []TrimCopy{ok(1, "a", 0), ok(2, "b", 1), with(ok(3, "c", 2), func(c *TrimCopy) { c.VolumeState = VolumeMaintenance }), ok(4, "d", 3)}, 2, []uint64{4}},
		{"corrupt copies are not counted", []TrimCopy{ok(1, "a", 0), with(ok(2, "b", 1), func(c *TrimCopy) { c.State = ReplicaCorrupt }), ok(3, "c", 2)}, 2, nil},
		{"a pending copy on an online node waits", []TrimCopy{ok(1, "a", 0), ok(2, "b", 1), ok(3, "c", 2), with(ok(4, "d", 3), func(c *TrimCopy) { c.State = ReplicaPending })}, 2, nil},
		{"a copy being made waits", []TrimCopy{ok(1, "a", 0), ok(2, "b", 1), ok(3, "c", 2), with(ok(4, "d", 3), func(c *TrimCopy) { c.State = ReplicaCopying })}, 2, nil},
		{"an offline node's pending copy does not hold trimming", []TrimCopy{ok(1, "a", 0), ok(2, "b", 1), ok(3, "c", 2), with(ok(4, "d", 3), func(c *TrimCopy) { c.State = ReplicaPending; c.NodeOnline = false })}, 2, []uint64{3}},
		{"surplus already marked is not counted", []TrimCopy{ok(1, "a", 0), ok(2, "b", 1), with(ok(3, "c", 2), func(c *TrimCopy) { c.State = ReplicaSurplus })}, 2, nil},
		{"want below one trims nothing", []TrimCopy{ok(1, "a", 0), ok(2, "b", 1)}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanTrim(tc.copies, tc.want)
			if !slices.Equal(got, tc.drop) {
				t.Fatalf("PlanTrim = %v, want %v", got, tc.drop)
			}
			kept := 0
			for _, c := range tc.copies {
				if c.counts() && !slices.Contains(got, c.VolumeID) {
					kept++
				}
			}
			if got != nil && kept != tc.want {
				t.Fatalf("kept %d copies that count, want %d", kept, tc.want)
			}
		})
	}
}

// TestMarkSurplus: with replicas = 2, a third copy made while n1 was away
// is marked surplus once n1's copy is verified again (not before), the
// sweep's calls forget it only while it is surplus, and an online node that
// wants more copies keeps them.
func TestMarkSurplus(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		vols := map[string]*Volume{}
		for _, n := range []string{"n1", "n2", "n3"} {
			v, err := c.UpsertVolume(ctx, Volume{Name: "default", Path: "/srv", Node: n})
			if err != nil {
				t.Fatal(err)
			}
			vols[n] = v
			if err := c.Heartbeat(ctx, Node{Name: n, Replicas: 2}); err != nil {
				t.Fatal(err)
			}
		}
		u := mustUser(t, c, RoleUser)
		tor := mustTorrent(t, c, u.ID, vols["n1"], "trim", 100)
		other := mustTorrent(t, c, u.ID, vols["n1"], "other", 100)
		for _, n := range []string{"n2", "n3"} {
			if err := c.SetReplicaState(ctx, tor.ID, vols[n].ID, n, ReplicaVerified); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.SetReplicaState(ctx, other.ID, vols["n2"].ID, "n2", ReplicaVerified); err != nil {
			t.Fatal(err)
		}
		// n3's copy is the newest: make sure the clock moved on.
		if err := c.w.Exec(`UPDATE replicas SET created_at = ? WHERE volume_id = ?`, now().Add(time.Hour), vols["n3"].ID).Error; err != nil {
			t.Fatal(err)
		}
		// n1's copy is pending (it just returned): nothing to trim yet.
		if _, err := c.NodeStarted(ctx, Node{Name: "n1", Replicas: 2}); err != nil {
			t.Fatal(err)
		}
		if ids, err := c.SurplusTorrents(ctx, 2, 100); err != nil || len(ids) != 0 {
			t.Fatalf("surplus while n1 checks = %v, %v", ids, err)
		}
		if m, err := c.MarkSurplus(ctx, tor.ID, 2); err != nil || len(m) != 0 {
			t.Fatalf("marked %+v, %v while n1 checks", m, err)
		}
		if err := c.SetReplicaState(ctx, tor.ID, vols["n1"].ID, "n1", ReplicaVerified); err != nil {
			t.Fatal(err)
		}
		if err := c.SetReplicaState(ctx, other.ID, vols["n1"].ID, "n1", ReplicaVerified); err != nil {
			t.Fatal(err)
		}
		// An online node that wants 3 keeps all three.
		if err := c.Heartbeat(ctx, Node{Name: "n2", Replicas: 3}); err != nil {
			t.Fatal(err)
		}
		if ids, err := c.SurplusTorrents(ctx, 2, 100); err != nil || len(ids) != 0 {
			t.Fatalf("surplus while n2 wants 3 = %v, %v", ids, err)
		}
		if err := c.Heartbeat(ctx, Node{Name: "n2", Replicas: 2}); err != nil {
			t.Fatal(err)
		}
		ids, err := c.SurplusTorrents(ctx, 2, 100)
		if err != nil || !slices.Equal(ids, []uint64{tor.ID}) {
			t.Fatalf("SurplusTorrents = %v, %v; want [%d]", ids, err, tor.ID)
		}
		marked, err := c.MarkSurplus(ctx, tor.ID, 2)
		if err != nil || len(marked) != 1 || marked[0].VolumeID != vols["n3"].ID || marked[0].Node != "n3" {
			t.Fatalf("MarkSurplus = %+v, %v; want n3's copy", marked, err)
		}
		if again, err := c.MarkSurplus(ctx, tor.ID, 2); err != nil || len(again) != 0 {
			t.Fatalf("second MarkSurplus = %+v, %v", again, err)
		}
		if st, _ := c.ReplicaState(ctx, tor.ID, vols["n3"].ID); st != ReplicaSurplus {
			t.Fatalf("n3's copy is %q", st)
		}
		ps, err := c.SurplusOnNode(ctx, "n3")
		if err != nil || len(ps) != 1 || ps[0].InfoHash != tor.InfoHash || ps[0].VolumeName != "default" {
			t.Fatalf("SurplusOnNode(n3) = %+v, %v", ps, err)
		}
		if ps, _ := c.SurplusOnNode(ctx, "n1"); len(ps) != 0 {
			t.Fatalf("SurplusOnNode(n1) = %+v", ps)
		}
		if ok, err := c.DeleteSurplusReplica(ctx, tor.ID, vols["n2"].ID); ok || err != nil {
			t.Fatalf("deleted a verified copy as surplus: %v, %v", ok, err)
		}
		if ok, err := c.DeleteSurplusReplica(ctx, tor.ID, vols["n3"].ID); !ok || err != nil {
			t.Fatalf("DeleteSurplusReplica = %v, %v", ok, err)
		}
		reps, _ := c.ReplicasOf(ctx, tor.ID)
		if len(reps) != 2 || reps[0].Node != "n1" || reps[1].Node != "n2" || reps[0].State != ReplicaVerified {
			t.Fatalf("replicas after the trim = %+v", reps)
		}
		if _, err := c.ReplicaState(ctx, tor.ID, vols["n3"].ID); err == nil {
			t.Fatal("state of a deleted replica")
		}
	})
}

// TestMigrationReplicaVerificationUpgrade upgrades a version 9 database:
// replicas keep their rows and get created_at = updated_at, the new states
// are allowed, unknown ones still refused, and foreign keys hold.
func TestMigrationReplicaVerificationUpgrade(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testURL(t, d)
			old := openAt(t, d, url, 9)
			v, err := old.UpsertVolume(ctx, Volume{Name: "default", Path: "/srv", Node: "n1"})
			if err != nil {
				t.Fatal(err)
			}
			tor := mustTorrent(t, old, mustUser(t, old, RoleUser).ID, v, "upgrade", 100)
			stamp := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			if err := old.w.Exec(`UPDATE replicas SET updated_at = ?`, stamp).Error; err != nil {
				t.Fatal(err)
			}
			if err := old.w.Exec(`UPDATE replicas SET state = 'pending'`).Error; err == nil {
				t.Fatal("version 9 took a pending replica: the test does not start from the old schema")
			}
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			c := openTest(t, url)
			var rows []struct {
				State     string
				CreatedAt time.Time
			}
			if err := c.w.Raw(`SELECT state, created_at FROM replicas WHERE torrent_id = ?`, tor.ID).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].State != ReplicaVerified || !rows[0].CreatedAt.Equal(stamp) {
				t.Fatalf("replicas after upgrade = %+v", rows)
			}
			for _, st := range []string{ReplicaPending, ReplicaSurplus} {
				if err := c.w.Exec(`UPDATE replicas SET state = ?`, st).Error; err != nil {
					t.Errorf("state %s after upgrade: %v", st, err)
				}
			}
			if err := c.w.Exec(`UPDATE replicas SET state = 'bogus'`).Error; err == nil {
				t.Error("an unknown replica state was accepted")
			}
			// New rows get created_at from the database.
			v2, _ := c.UpsertVolume(ctx, Volume{Name: "two", Path: "/srv2", Node: "n1"})
			if err := c.SetReplicaState(ctx, tor.ID, v2.ID, "n1", ReplicaCopying); err != nil {
				t.Fatal(err)
			}
			var created time.Time
			if err := c.w.Raw(`SELECT created_at FROM replicas WHERE volume_id = ?`, v2.ID).Scan(&created).Error; err != nil || time.Since(created).Abs() > time.Minute {
				t.Fatalf("created_at of a new replica = %v, %v", created, err)
			}
			if err := c.SetReplicaState(ctx, tor.ID, 999, "n1", ReplicaVerified); err == nil {
				t.Error("a replica on a missing volume was accepted")
			}
		})
	}
}
