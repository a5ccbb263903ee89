package seedbox

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// historyCatalog records every state the replicator gives a replica.
type historyCatalog struct {
	*memCatalog
	history map[uint64][]string // volume id -> states set, in order
}

func (c *historyCatalog) SetReplicaState(ctx context.Context, ih string, volumeID uint64, node, state string) error {
	c.mu.Lock()
	c.history[volumeID] = append(c.history[volumeID], state)
	c.mu.Unlock()
	return c.memCatalog.SetReplicaState(ctx, ih, volumeID, node, state)
}

// restartRig is the rig's node after a restart: a new Checker over the
// same volumes (its ledgers trust nothing unless the last run closed them)
// and a new Replicator, with every verified replica set pending as the
// catalog's NodeStarted does.
func (r *replicationRig) restart(t *testing.T) *historyCatalog {
	t.Helper()
	hc := &historyCatalog{memCatalog: r.cat, history: map[uint64][]string{}}
	for _, v := range []Volume{r.v1, r.v2} {
		if r.cat.state(r.tt.ih, v) == ReplicaVerified {
			r.cat.SetReplicaState(context.Background(), r.tt.ih, v.ID, "n1", ReplicaPending)
		}
	}
	var err error
	if r.chk, err = NewChecker(r.vols, nil); err != nil {
		t.Fatal(err)
	}
	r.rep = NewReplicator(ReplicatorOptions{Catalog: hc, Volumes: r.vols, Checker: r.chk, Node: "n1", Replicas: 2})
	return hc
}

// TestReplicatorRechecksPending: after a crash, pending replicas are hashed
// before they count again: the good one is verified, the one damaged while
// the node was down (same size and mtime) is found corrupt, never recorded
// verified as it was, and patched from the good one.
func TestReplicatorRechecksPending(t *testing.T) {
	r := newRig(t)
	r.pass(t)
	r.wantVerified(t, r.v2)
	// Crash (no Checker.Close), and a byte rots on v2 meanwhile.
	flipByte(t, filepath.Join(r.v2.TorrentDir(r.tt.ih), "multi", "sub", "b.bin"), 10, true)
	hc := r.restart(t)
	r.pass(t)
	if got := hc.history[r.v1.ID]; !slices.Equal(got, []string{ReplicaVerified}) {
		t.Errorf("v1's states after the restart: %v, want [verified]", got)
	}
	if got := hc.history[r.v2.ID]; len(got) < 2 || got[0] != ReplicaCorrupt || got[len(got)-1] != ReplicaVerified {
		t.Errorf("v2's states after the restart: %v, want corrupt first and verified (patched) last", got)
	}
	r.wantVerified(t, r.v1)
	r.wantVerified(t, r.v2)
	if _, p, _ := r.rep.Stats(); p != 1 {
		t.Errorf("patches = %d, want 1", p)
	}
}

// TestReplicatorPendingAfterCleanStop: after a clean stop the ledger vouches
// for unchanged replicas, so pending ones are verified again without a
// read, as a fast start seeds them.
func TestReplicatorPendingAfterCleanStop(t *testing.T) {
	r := newRig(t)
	r.pass(t)
	if err := r.chk.Close(); err != nil {
		t.Fatal(err)
	}
	hc := r.restart(t)
	r.pass(t)
	for _, v := range []Volume{r.v1, r.v2} {
		if got := hc.history[v.ID]; !slices.Equal(got, []string{ReplicaVerified}) {
			t.Errorf("%s's states: %v, want [verified]", v.Name, got)
		}
	}
	if c, p, f := r.rep.Stats(); c+p+f != 0 {
		t.Errorf("copies, patches, failures = %d, %d, %d after a clean restart", c, p, f)
	}
}

// TestReplicatorLeavesSurplus: a surplus copy on this node is left to the
// trim sweep: not rechecked, not repaired, not replaced by a new copy.
func TestReplicatorLeavesSurplus(t *testing.T) {
	r := newRig(t)
	r.pass(t)
	r.cat.SetReplicaState(context.Background(), r.tt.ih, r.v2.ID, "n1", ReplicaSurplus)
	hc := r.restart(t)
	r.pass(t)
	if st := r.cat.state(r.tt.ih, r.v2); st != ReplicaSurplus {
		t.Fatalf("surplus copy became %q", st)
	}
	if got := hc.history; len(got) != 0 {
		t.Fatalf("states set while a local copy is surplus: %v", got)
	}
}
