package catalog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// setLastSeenAgo moves a node's last heartbeat to ago before the database's
// clock (not this process's).
func setLastSeenAgo(t *testing.T, c *Catalog, node string, ago time.Duration) {
	t.Helper()
	q := `UPDATE nodes SET last_seen = now() - make_interval(secs => ?) WHERE name = ?`
	args := []any{ago.Seconds(), node}
	if c.dialect == DialectSQLite {
		q = `UPDATE nodes SET last_seen = strftime('%Y-%m-%d %H:%M:%f+00:00', 'now', ?) WHERE name = ?`
		args = []any{"-" + strings.TrimSuffix(ago.String(), "s") + " seconds", node}
	}
	if err := c.w.Exec(q, args...).Error; err != nil {
		t.Fatal(err)
	}
}

// TestLivenessIgnoresLocalClocks: two processes share a catalog, the one
// that beats with its clock 5 minutes slow, the one that reads 5 minutes
// fast. The node is online while it beats and offline once its last beat
// is older than NodeTimeout by the database's clock, whatever either
// process's clock says.
func TestLivenessIgnoresLocalClocks(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testURL(t, d)
			w, r := openTest(t, url), openTest(t, url)
			w.localClock = func() time.Time { return time.Now().Add(-5 * time.Minute) }
			r.localClock = func() time.Time { return time.Now().Add(5 * time.Minute) }
			v, err := w.UpsertVolume(ctx, Volume{Name: "default", Path: "/srv", Node: "n1"})
			if err != nil {
				t.Fatal(err)
			}
			tor := mustTorrent(t, w, mustUser(t, w, RoleUser).ID, v, "skew", 100)
			if err := w.Heartbeat(ctx, Node{Name: "n1"}); err != nil {
				t.Fatal(err)
			}
			check := func(want bool) {
				t.Helper()
				for name, c := range map[string]*Catalog{"reader": r, "writer": w} {
					if up, err := c.OnlineNodes(ctx); err != nil || up["n1"] != want {
						t.Errorf("%s: OnlineNodes = %v, %v; want n1 online %v", name, up, err, want)
					}
					if nodes, err := c.Nodes(ctx); err != nil || len(nodes) != 1 || nodes[0].Online != want {
						t.Errorf("%s: Nodes = %+v, %v; want online %v", name, nodes, err, want)
					}
					if reps, err := c.ReplicasOf(ctx, tor.ID); err != nil || len(reps) != 1 || reps[0].NodeOnline != want {
						t.Errorf("%s: ReplicasOf = %+v, %v; want online %v", name, reps, err, want)
					}
					if rows, err := c.ActiveReplicas(ctx); err != nil || len(rows) != 1 || rows[0].NodeOnline != want {
						t.Errorf("%s: ActiveReplicas = %+v, %v; want online %v", name, rows, err, want)
					}
					if u, err := c.OnlineVolumeUsage(ctx); err != nil || (len(u.Offline) == 0) != want {
						t.Errorf("%s: OnlineVolumeUsage offline = %v, %v; want online %v", name, u.Offline, err, want)
					}
				}
			}
			check(true)
			setLastSeenAgo(t, w, "n1", NodeTimeout-2*time.Second)
			check(true)
			setLastSeenAgo(t, w, "n1", NodeTimeout+2*time.Second)
			check(false)
			// The beat of the returning node is judged by the database's
			// clock too: it was offline, so its replica is pending.
			res, err := w.Beat(ctx, Node{Name: "n1"})
			if err != nil || !res.Returned || res.Pending != 1 {
				t.Fatalf("beat after a silence = %+v, %v", res, err)
			}
			check(true)
			if res, err := w.Beat(ctx, Node{Name: "n1"}); err != nil || res.Returned {
				t.Fatalf("beat of an online node = %+v, %v", res, err)
			}
		})
	}
}

// TestReturningNodeReplicasPending: a node that comes back after being
// offline, or restarts, has its verified replicas pending: they do not
// count toward the replica count, are not on its seed list, and count
// again once its seedbox sets them verified.
func TestReturningNodeReplicasPending(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		vols := map[string]*Volume{}
		for _, n := range []string{"n1", "n2", "n3"} {
			v, err := c.UpsertVolume(ctx, Volume{Name: "default", Path: "/srv", Node: n})
			if err != nil {
				t.Fatal(err)
			}
			vols[n] = v
			if res, err := c.NodeStarted(ctx, Node{Name: n, Replicas: 2}); err != nil || !res.Returned || res.Pending != 0 {
				t.Fatalf("first start of %s = %+v, %v", n, res, err)
			}
		}
		extra, _ := c.UpsertVolume(ctx, Volume{Name: "extra", Path: "/srv2", Node: "n1"})
		u := mustUser(t, c, RoleUser)
		tor := mustTorrent(t, c, u.ID, vols["n1"], "back", 100)
		if err := c.SetReplicaState(ctx, tor.ID, vols["n2"].ID, "n2", ReplicaVerified); err != nil {
			t.Fatal(err)
		}
		states := func() map[string]string {
			reps, err := c.ReplicasOf(ctx, tor.ID)
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]string{}
			for _, r := range reps {
				m[r.Node] = r.State
			}
			return m
		}
		// Regular beats of online nodes change nothing.
		for _, n := range []string{"n1", "n2"} {
			if res, err := c.Beat(ctx, Node{Name: n}); err != nil || res.Returned {
				t.Fatalf("beat of online %s = %+v, %v", n, res, err)
			}
		}
		if m := states(); m["n1"] != ReplicaVerified || m["n2"] != ReplicaVerified {
			t.Fatalf("online nodes' replicas = %v", m)
		}
		if ok, _ := c.ClaimReplica(ctx, tor.InfoHash, vols["n3"].ID, "n3", 2); ok {
			t.Fatal("claimed a third replica while two count")
		}

		// n1 is silent past the timeout, then beats again.
		setLastSeenAgo(t, c, "n1", NodeTimeout+time.Second)
		res, err := c.Beat(ctx, Node{Name: "n1"})
		if err != nil || !res.Returned || res.Pending != 1 {
			t.Fatalf("n1 returns: %+v, %v", res, err)
		}
		if m := states(); m["n1"] != ReplicaPending || m["n2"] != ReplicaVerified {
			t.Fatalf("after n1 returned: %v", m)
		}
		if ps, err := c.PlacementsOnNode(ctx, "n1"); err != nil || len(ps) != 0 {
			t.Fatalf("n1 seeds %+v, %v before checking its replica", ps, err)
		}
		// n1 itself never claims a second copy while it checks its own...
		if ok, err := c.ClaimReplica(ctx, tor.InfoHash, extra.ID, "n1", 2); ok || err != nil {
			t.Fatalf("n1 claimed a second copy: %v, %v", ok, err)
		}
		// ...but its pending copy does not count: n3 may make one.
		if ok, err := c.ClaimReplica(ctx, tor.InfoHash, vols["n3"].ID, "n3", 2); !ok || err != nil {
			t.Fatalf("claim by n3 while n1's copy is pending = %v, %v", ok, err)
		}
		if err := c.DeleteReplica(ctx, tor.ID, vols["n3"].ID); err != nil {
			t.Fatal(err)
		}
		// n1's seedbox checked it: it counts and is seeded again.
		if err := c.SetReplicaStateByHash(ctx, tor.InfoHash, vols["n1"].ID, "n1", ReplicaVerified); err != nil {
			t.Fatal(err)
		}
		if ps, err := c.PlacementsOnNode(ctx, "n1"); err != nil || len(ps) != 1 {
			t.Fatalf("n1 seeds %+v, %v after checking", ps, err)
		}
		if ok, _ := c.ClaimReplica(ctx, tor.InfoHash, vols["n3"].ID, "n3", 2); ok {
			t.Fatal("claimed a third replica after n1's was verified again")
		}

		// A restart is a return even when the node still looked online.
		res, err = c.NodeStarted(ctx, Node{Name: "n2", StartedAt: time.Now()})
		if err != nil || !res.Returned || res.Pending != 1 {
			t.Fatalf("n2 restarts: %+v, %v", res, err)
		}
		// A clean stop takes the node offline; its next beat is a return.
		if err := c.NodeStopped(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if res, err := c.Beat(ctx, Node{Name: "n1"}); err != nil || !res.Returned || res.Pending != 1 {
			t.Fatalf("n1 back after a clean stop: %+v, %v", res, err)
		}
		if m := states(); m["n1"] != ReplicaPending || m["n2"] != ReplicaPending {
			t.Fatalf("after restarts: %v", m)
		}
		if err := c.SetReplicaState(ctx, tor.ID, vols["n1"].ID, "n1", ReplicaPending); !errors.Is(err, ErrInvalid) {
			t.Errorf("only the catalog sets replicas pending: %v", err)
		}
		nodes, _ := c.Nodes(ctx)
		if len(nodes) != 3 || nodes[0].Replicas != 0 || nodes[2].Replicas != 2 {
			t.Errorf("nodes' replica counts: %+v", nodes)
		}
	})
}
