package node

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
)

// TestTrimSurplus: three nodes on a shared catalog (SQLite file and
// PostgreSQL) with seedbox.replicas = 2 hold three verified copies of a
// torrent, the newest on nc (made while another node was away). The trim
// leader's fenced run marks nc's copy surplus and no other; nc's sweep
// deletes the data, then the row; the others keep theirs. A sweep that
// finds its copy no longer surplus keeps the data, and one that finds the
// data already gone (a crash after removing it) still forgets the row.
func TestTrimSurplus(t *testing.T) {
	forEachSharedCatalog(t, testTrimSurplus)
}

func testTrimSurplus(t *testing.T, url string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	two := func(cfg *config.Config) { cfg.Seedbox.Replicas = 2 }
	nodes := map[string]*Node{}
	for _, name := range []string{"na", "nb", "nc"} {
		nodes[name] = sharedCatalogNode(t, url, name, "", two)
	}
	cat := nodes["na"].Catalog
	pubs := publishN(t, nodes["na"], 2)
	tor, err := cat.TorrentByInfoHash(ctx, pubs[0].ih)
	must(t, err)
	other, err := cat.TorrentByInfoHash(ctx, pubs[1].ih)
	must(t, err)
	src, _ := nodes["na"].Volumes.ByName("na-vol")
	dirOf := func(name, ih string) string {
		v, _ := nodes[name].Volumes.ByName(name + "-vol")
		return v.TorrentDir(ih)
	}
	for _, name := range []string{"nb", "nc"} { // copies, oldest first
		for _, ih := range []string{tor.InfoHash, other.InfoHash} {
			must(t, os.MkdirAll(filepath.Dir(dirOf(name, ih)), 0o755))
			must(t, os.CopyFS(dirOf(name, ih), os.DirFS(src.TorrentDir(ih))))
			v, _ := nodes[name].Volumes.ByName(name + "-vol")
			must(t, cat.SetReplicaStateByHash(ctx, ih, v.ID, name, catalog.ReplicaVerified))
		}
		time.Sleep(10 * time.Millisecond) // distinct created_at
	}
	for _, n := range nodes {
		must(t, n.beat(ctx))
	}
	state := func(ih, name string) string {
		t.Helper()
		v, _ := nodes[name].Volumes.ByName(name + "-vol")
		to, err := cat.TorrentByInfoHash(ctx, ih)
		must(t, err)
		st, err := cat.ReplicaState(ctx, to.ID, v.ID)
		if err != nil {
			return "none"
		}
		return st
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	leader := NewLeader(cat, "trim", "na", 3*time.Second, nodes["na"].log)
	wg.Go(func() { leader.Serve(ctx) })
	waitUntil(t, 10*time.Second, "na leads trimming", func() bool { return leader.Leading(ctx) })
	ran, err := leader.Run(ctx, nodes["na"].trimSurplus)
	if !ran || err != nil {
		t.Fatalf("trim run = %v, %v", ran, err)
	}
	for _, ih := range []string{tor.InfoHash, other.InfoHash} {
		if a, b, c := state(ih, "na"), state(ih, "nb"), state(ih, "nc"); a != catalog.ReplicaVerified || b != catalog.ReplicaVerified || c != catalog.ReplicaSurplus {
			t.Fatalf("after the trim run: na %s, nb %s, nc %s; want nc's copy surplus", a, b, c)
		}
	}
	// Before nc sweeps: other's copy is no longer surplus (found corrupt
	// and repaired meanwhile), and tor's data is already gone (a crash
	// after removing it).
	ncVol, _ := nodes["nc"].Volumes.ByName("nc-vol")
	must(t, cat.SetReplicaState(ctx, other.ID, ncVol.ID, "nc", catalog.ReplicaVerified))
	must(t, os.RemoveAll(dirOf("nc", tor.InfoHash)))

	must(t, nodes["na"].sweepSurplus(ctx)) // not na's: nothing happens
	must(t, nodes["nc"].sweepSurplus(ctx))
	if st := state(tor.InfoHash, "nc"); st != "none" {
		t.Errorf("nc's surplus copy of tor is %q after the sweep, want gone", st)
	}
	if st := state(other.InfoHash, "nc"); st != catalog.ReplicaVerified {
		t.Errorf("nc's copy of other is %q, want verified", st)
	}
	if _, err := os.Stat(dirOf("nc", other.InfoHash)); err != nil {
		t.Errorf("nc's copy of other was deleted: %v", err)
	}
	for _, name := range []string{"na", "nb"} {
		if _, err := os.Stat(dirOf(name, tor.InfoHash)); err != nil || state(tor.InfoHash, name) != catalog.ReplicaVerified {
			t.Errorf("%s's copy of tor: %v, %s", name, err, state(tor.InfoHash, name))
		}
	}
	// The next run finds other with three copies again and trims nc's.
	_, err = leader.Run(ctx, nodes["na"].trimSurplus)
	must(t, err)
	must(t, nodes["nc"].sweepSurplus(ctx))
	if _, err := os.Stat(dirOf("nc", other.InfoHash)); !os.IsNotExist(err) || state(other.InfoHash, "nc") != "none" {
		t.Errorf("nc's copy of other after the second trim: %v, %s", err, state(other.InfoHash, "nc"))
	}
	runs, err := cat.JobRuns(ctx, "trim", time.Time{})
	if err != nil || len(runs) != 2 {
		t.Errorf("trim runs recorded: %+v, %v", runs, err)
	}
}
