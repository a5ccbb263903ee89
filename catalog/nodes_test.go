package catalog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// openAt opens the database at url migrated only up to version upTo, the
// schema an older binary left.
func openAt(t *testing.T, dialect, url string, upTo int) *Catalog {
	t.Helper()
	var (
		c   *Catalog
		err error
	)
	if dialect == DialectPostgres {
		c, err = openPostgres(url, testLogger(t))
	} else {
		c, err = openSQLite(url, testLogger(t))
		if err == nil {
			c.r = c.w
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := c.migrateUpTo(context.Background(), upTo); err != nil {
		t.Fatalf("migrate up to %d: %v", upTo, err)
	}
	return c
}

// TestMigrationNodesUpgrade upgrades a version 6 database holding volumes
// and replicas: every row and id survives, replicas still reference their
// volumes (foreign keys enforced again on SQLite), and volume names become
// unique per node.
func TestMigrationNodesUpgrade(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testURL(t, d)
			old := openAt(t, d, url, 6)
			if v, _ := old.SchemaVersion(ctx); v != 6 {
				t.Fatalf("old schema version %d, want 6", v)
			}
			ts := now()
			exec := func(c *Catalog, q string, args ...any) error { return c.w.Exec(q, args...).Error }
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(exec(old, `INSERT INTO users (id, name, password_hash, passkey, created_at, updated_at)
VALUES (7, 'ann', 'x', ?, ?, ?)`, strings.Repeat("a", 32), ts, ts))
			for i, name := range []string{"a", "b"} {
				must(exec(old, `INSERT INTO torrents (id, info_hash, name, title, size, md5_10m, piece_length, pieces,
	info_bytes, single_file, uploader_id, created_at, updated_at)
VALUES (?, ?, ?, ?, 10, 'm', 16384, ?, ?, TRUE, 7, ?, ?)`, 20+i, strings.Repeat(name, 40), name, name, []byte("p"), []byte("i"), ts, ts))
			}
			must(exec(old, `INSERT INTO volumes (id, name, path, node, state, capacity, reserve, created_at, updated_at)
VALUES (11, 'default', '/n1/default', 'n1', 'active', 100, 5, ?, ?), (12, 'big', '/n2/big', 'n2', 'readonly', 0, 0, ?, ?)`, ts, ts, ts, ts))
			must(exec(old, `INSERT INTO replicas (torrent_id, volume_id, node, state, updated_at)
VALUES (20, 11, 'n1', 'verified', ?), (20, 12, 'n2', 'copying', ?), (21, 12, 'n2', 'verified', ?)`, ts, ts, ts))
			if err := exec(old, `INSERT INTO volumes (name, path, node, state, created_at, updated_at)
VALUES ('default', '/n2/default', 'n2', 'active', ?, ?)`, ts, ts); err == nil {
				t.Fatal("version 6 took a second volume named default: the test does not start from the old schema")
			}
			must(old.Close())

			c := openTest(t, url) // Open runs migration 7
			if v, _ := c.SchemaVersion(ctx); v < 7 {
				t.Fatalf("schema version %d after upgrade", v)
			}
			vols, err := c.VolumeInfos(ctx, "")
			if err != nil || len(vols) != 2 {
				t.Fatalf("volumes after upgrade = %+v, %v", vols, err)
			}
			if v := vols[0]; v.ID != 11 || v.Name != "default" || v.Node != "n1" || v.Capacity != 100 || v.Reserve != 5 || v.Torrents != 1 {
				t.Errorf("volume 11 after upgrade = %+v", v)
			}
			if v := vols[1]; v.ID != 12 || v.State != VolumeReadonly || v.Torrents != 2 || v.Bytes != 20 {
				t.Errorf("volume 12 after upgrade = %+v", v)
			}
			reps, err := c.ReplicasOf(ctx, 20)
			if err != nil || len(reps) != 2 || reps[0].VolumeName != "default" || reps[1].State != ReplicaCopying {
				t.Fatalf("replicas after upgrade = %+v, %v", reps, err)
			}
			// Now n2 may have its own "default", and it gets a fresh id.
			v2, err := c.UpsertVolume(ctx, Volume{Name: "default", Path: "/n2/default", Node: "n2"})
			if err != nil || v2.ID == 11 || v2.ID == 12 {
				t.Fatalf("second default volume = %+v, %v", v2, err)
			}
			if _, err := c.AddVolume(ctx, VolumeInfo{Volume: Volume{Name: "default", Path: "/x", Node: "n1"}}); !errors.Is(err, ErrConflict) {
				t.Errorf("same name on the same node: %v, want ErrConflict", err)
			}
			// Foreign keys are enforced again.
			if err := c.SetReplicaState(ctx, 21, 999, "n1", ReplicaVerified); !errors.Is(err, ErrNotFound) {
				t.Errorf("replica on an unknown volume: %v, want ErrNotFound", err)
			}
			if err := c.w.Exec(`DELETE FROM volumes WHERE id = 11`).Error; err == nil {
				t.Error("deleted a volume that replicas reference")
			}
		})
	}
}

// TestVolumesPerNode: two nodes both call their volume "default"; each
// one's rows, states and lookups stay its own.
func TestVolumesPerNode(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		var ids []uint64
		for _, n := range []string{"n1", "n2"} {
			v, err := c.RegisterVolume(ctx, VolumeInfo{Volume: Volume{Name: "default", Path: "/srv/" + n, Node: n}})
			if err != nil {
				t.Fatalf("register default of %s: %v", n, err)
			}
			ids = append(ids, v.ID)
		}
		if ids[0] == ids[1] {
			t.Fatalf("both nodes' default volumes are row %d", ids[0])
		}
		again, err := c.RegisterVolume(ctx, VolumeInfo{Volume: Volume{Name: "default", Path: "/mnt/n1", Node: "n1"}})
		if err != nil || again.ID != ids[0] || again.Path != "/mnt/n1" {
			t.Fatalf("re-register default of n1 = %+v, %v", again, err)
		}
		if err := c.SetVolumeState(ctx, "n2", "default", VolumeReadonly); err != nil {
			t.Fatal(err)
		}
		v1, err1 := c.VolumeByName(ctx, "n1", "default")
		v2, err2 := c.VolumeByName(ctx, "n2", "default")
		if err1 != nil || err2 != nil || v1.State != VolumeActive || v2.State != VolumeReadonly || v2.Path != "/srv/n2" {
			t.Fatalf("VolumeByName = %+v %v, %+v %v", v1, err1, v2, err2)
		}
		if _, err := c.VolumeByName(ctx, "n3", "default"); !errors.Is(err, ErrNotFound) {
			t.Errorf("volume of an unknown node: %v", err)
		}
		if err := c.SetVolumeState(ctx, "n3", "default", VolumeActive); !errors.Is(err, ErrNotFound) {
			t.Errorf("set state on an unknown node: %v", err)
		}
		if n2, _ := c.VolumeInfos(ctx, "n2"); len(n2) != 1 || n2[0].ID != ids[1] {
			t.Errorf("VolumeInfos(n2) = %+v", n2)
		}
		if all, _ := c.Volumes(ctx); len(all) != 2 || all[0].Node != "n1" || all[1].Node != "n2" {
			t.Errorf("Volumes = %+v", all)
		}
		// CreateTorrent finds the volume by node and name.
		u := mustUser(t, c, RoleUser)
		tor := testTorrent(u.ID, "pernode", 100)
		if err := c.CreateTorrent(ctx, tor, Replica{VolumeName: "default", Node: "n2", State: ReplicaVerified}); err != nil {
			t.Fatal(err)
		}
		reps, err := c.ReplicasOf(ctx, tor.ID)
		if err != nil || len(reps) != 1 || reps[0].VolumeID != ids[1] {
			t.Fatalf("replicas = %+v, %v; want one on volume %d", reps, err, ids[1])
		}
	})
}

// TestNodeLiveness: replicas on a node whose heartbeat is older than
// NodeTimeout are marked offline, do not count when nodes claim replicas,
// and count again once it beats.
func TestNodeLiveness(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		vols := map[string]*Volume{}
		for _, n := range []string{"n1", "n2", "n3", "n4"} {
			v, err := c.UpsertVolume(ctx, Volume{Name: "default", Path: "/srv", Node: n})
			if err != nil {
				t.Fatal(err)
			}
			vols[n] = v
			if n != "n4" {
				if err := c.Heartbeat(ctx, Node{Name: n, PublicURL: "http://" + n}); err != nil {
					t.Fatal(err)
				}
			}
		}
		extra, _ := c.UpsertVolume(ctx, Volume{Name: "extra", Path: "/srv2", Node: "n2"})
		u := mustUser(t, c, RoleUser)
		tor := mustTorrent(t, c, u.ID, vols["n1"], "live", 100)
		for _, n := range []string{"n2", "n3"} {
			if ok, err := c.ClaimReplica(ctx, tor.InfoHash, vols[n].ID, n, 3); !ok || err != nil {
				t.Fatalf("claim by %s = %v, %v", n, ok, err)
			}
			if err := c.SetReplicaState(ctx, tor.ID, vols[n].ID, n, ReplicaVerified); err != nil {
				t.Fatal(err)
			}
		}
		online := func() map[string]bool {
			reps, err := c.ReplicasOf(ctx, tor.ID)
			if err != nil || len(reps) != 3 {
				t.Fatalf("replicas = %+v, %v", reps, err)
			}
			m := map[string]bool{}
			for _, r := range reps {
				m[r.Node] = r.NodeOnline
				if r.NodeOnline && r.NodePublicURL != "http://"+r.Node {
					t.Errorf("replica on %s: public URL %q", r.Node, r.NodePublicURL)
				}
			}
			return m
		}
		if m := online(); !m["n1"] || !m["n2"] || !m["n3"] {
			t.Fatalf("all nodes beat, online = %v", m)
		}
		if ok, _ := c.ClaimReplica(ctx, tor.InfoHash, vols["n4"].ID, "n4", 3); ok {
			t.Fatal("a 4th replica was claimed while 3 are online")
		}

		// n1 misses its heartbeats: its replica stops counting.
		stale := now().Add(-NodeTimeout - time.Second)
		if err := c.w.Exec(`UPDATE nodes SET last_seen = ? WHERE name = 'n1'`, stale).Error; err != nil {
			t.Fatal(err)
		}
		if m := online(); m["n1"] || !m["n2"] {
			t.Fatalf("n1 silent, online = %v", m)
		}
		rows, err := c.ActiveReplicas(ctx)
		if err != nil || len(rows) != 3 || rows[0].Node != "n1" || rows[0].NodeOnline || !rows[1].NodeOnline {
			t.Fatalf("ActiveReplicas = %+v, %v", rows, err)
		}
		if up, _ := c.OnlineNodes(ctx); up["n1"] || !up["n2"] || !up["n3"] || up["n4"] {
			t.Errorf("OnlineNodes = %v", up)
		}
		// A node already holding one never claims a second one...
		if ok, err := c.ClaimReplica(ctx, tor.InfoHash, extra.ID, "n2", 3); ok || err != nil {
			t.Fatalf("n2 claimed a second replica: %v, %v", ok, err)
		}
		// ...but another node may replace the offline one (n4 counts as
		// online: it is the one asking).
		if ok, err := c.ClaimReplica(ctx, tor.InfoHash, vols["n4"].ID, "n4", 3); !ok || err != nil {
			t.Fatalf("claim by n4 with n1 offline = %v, %v", ok, err)
		}
		if err := c.DeleteReplica(ctx, tor.ID, vols["n4"].ID); err != nil {
			t.Fatal(err)
		}

		// n1 beats again; a clean stop takes n3 offline at once.
		if err := c.Heartbeat(ctx, Node{Name: "n1", PublicURL: "http://n1"}); err != nil {
			t.Fatal(err)
		}
		if err := c.NodeStopped(ctx, "n3"); err != nil {
			t.Fatal(err)
		}
		if m := online(); !m["n1"] || m["n3"] {
			t.Fatalf("n1 back and n3 stopped, online = %v", m)
		}
		nodes, err := c.Nodes(ctx)
		if err != nil || len(nodes) != 3 || nodes[0].Name != "n1" || !nodes[0].Online || nodes[2].Online {
			t.Fatalf("Nodes = %+v, %v", nodes, err)
		}
		if err := c.Heartbeat(ctx, Node{Name: " "}); !errors.Is(err, ErrInvalid) {
			t.Errorf("blank node name: %v", err)
		}
	})
}
