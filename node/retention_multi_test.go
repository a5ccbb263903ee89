package node

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/publish"
	"github.com/seedbed/seedbed/seedbox/retention"
)

// TestRetentionRelievesOtherNode: nodes na and nb share a catalog (SQLite
// file and PostgreSQL); na leads the scheduled retention. nb's volume is
// above high_water: na's plan sees it through nb's heartbeat reports, names
// the offline node nc, and its scheduled run purges nb's stalest torrents
// until below low_water, once (a run before nb deleted the data does not
// purge more); nb deletes their data itself, the purges finish and nb's
// volume shows the bytes freed. na's own torrent is kept.
func TestRetentionRelievesOtherNode(t *testing.T) {
	forEachSharedCatalog(t, testRetentionRelievesOtherNode)
}

const retentionFile = 300 << 10

func testRetentionRelievesOtherNode(t *testing.T, url string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	na, nb := retentionNode(t, url, "na", "100MiB"), retentionNode(t, url, "nb", "1MiB")
	keptA := publishN(t, na, 1)[0]
	onB := publishN(t, nb, 3) // 900 KiB of 1 MiB: above high_water 80%
	cat := na.Catalog

	// A node that went away: its volume is not planned for.
	must(t, cat.Heartbeat(ctx, catalog.Node{Name: "nc"}))
	_, err := cat.RegisterVolume(ctx, catalog.VolumeInfo{Volume: catalog.Volume{Name: "nc-vol", Path: "/srv/nc", Node: "nc"}})
	must(t, err)
	must(t, cat.NodeStopped(ctx, "nc"))

	for _, n := range []*Node{na, nb} {
		must(t, n.syncVolumes(ctx))
		must(t, n.beat(ctx))
	}
	plan, err := retention.Evaluate(ctx, cat, na.Volumes, "na", retention.PolicyFrom(na.cfg.Retention), time.Now())
	must(t, err)
	var text bytes.Buffer
	must(t, plan.WriteText(&text))
	if !strings.Contains(text.String(), "nc: offline, not measured") {
		t.Fatalf("plan text does not name the offline node:\n%s", text.String())
	}
	purged := map[string]bool{onB[0].ih: true, onB[1].ih: true} // stalest first, until below 50%
	if len(plan.Purges) != 2 || !purged[plan.Purges[0].InfoHash] || !purged[plan.Purges[1].InfoHash] {
		t.Fatalf("plan of na purges %+v, want nb's two oldest torrents:\n%s", plan.Purges, text.String())
	}

	// na takes the lease first, then both nodes run their services.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	la := NewLeader(na.Catalog, "retention", "na", 3*time.Second, na.log)
	wg.Go(func() { la.Serve(ctx) })
	waitUntil(t, 10*time.Second, "na leads", func() bool { return la.Leading(ctx) })
	lb := NewLeader(nb.Catalog, "retention", "nb", 3*time.Second, nb.log)
	wg.Go(func() { lb.Serve(ctx) })
	for _, n := range []*Node{na, nb} {
		l := la
		if n == nb {
			l = lb
		}
		wg.Go(func() { n.heartbeat(ctx) })
		wg.Go(func() { n.watchVolumes(ctx) })
		wg.Go(func() { n.serveRetention(ctx, l) })
	}

	// nb deletes the data of the purged torrents (its sweep runs every
	// purgeSweepEvery) and the purges finish.
	waitUntil(t, 4*purgeSweepEvery, "nb deletes the purged data and the purges finish", func() bool {
		ps, err := cat.Purges(ctx, 0)
		must(t, err)
		done := 0
		for _, p := range ps {
			if purged[p.InfoHash] && !p.FinishedAt.IsZero() {
				done++
			}
		}
		return done == 2
	})
	ps, err := cat.Purges(ctx, 0)
	must(t, err)
	for _, p := range ps {
		if !purged[p.InfoHash] || p.Actor != "auto" || p.Rule != retention.RuleHighWater {
			t.Fatalf("unexpected purge %+v", p)
		}
	}
	for _, f := range onB {
		_, err := os.Stat(f.path)
		if gone := os.IsNotExist(err); gone != purged[f.ih] {
			t.Fatalf("%s on nb: gone %v, purged %v (stat: %v)", f.ih, gone, purged[f.ih], err)
		}
	}
	if _, err := os.Stat(keptA.path); err != nil {
		t.Fatalf("na's torrent: %v", err)
	}

	// The catalog shows nb's bytes freed, and na's next plan purges nothing.
	waitUntil(t, 20*time.Second, "nb's volume below low_water", func() bool {
		snap, err := cat.OnlineVolumeUsage(ctx)
		must(t, err)
		for _, v := range snap.Volumes {
			if v.Node == "nb" {
				return v.Used == retentionFile && v.Capacity == 1<<20
			}
		}
		return false
	})
	plan, err = retention.Evaluate(ctx, cat, na.Volumes, "na", retention.PolicyFrom(na.cfg.Retention), time.Now())
	must(t, err)
	if len(plan.Purges) != 0 {
		t.Fatalf("plan after the purges: %+v", plan.Purges)
	}

	// Only na ran retention.
	runs, err := cat.JobRuns(ctx, "retention", time.Now().Add(-time.Hour))
	must(t, err)
	if len(runs) == 0 {
		t.Fatal("no scheduled retention run recorded")
	}
	for _, r := range runs {
		if r.Node != "na" {
			t.Fatalf("retention ran on %s: %+v", r.Node, r)
		}
	}
}

// published is one torrent published on a node's volume.
type published struct{ ih, path string }

// publishN publishes n distinct files of retentionFile bytes on node, one
// after the other.
func publishN(t *testing.T, nd *Node, n int) []published {
	t.Helper()
	ctx := context.Background()
	u, err := nd.Catalog.CreateUser(ctx, "up-"+nd.cfg.Seedbox.Node, "password123", catalog.RoleUser)
	must(t, err)
	var out []published
	for i := range n {
		st, err := nd.Publisher.Begin(retentionFile)
		must(t, err)
		data := make([]byte, retentionFile)
		rand.NewChaCha8([32]byte{byte(i), nd.cfg.Seedbox.Node[1]}).Read(data)
		name := fmt.Sprintf("f%d.bin", i)
		_, err = st.AddFile(name, bytes.NewReader(data))
		must(t, err)
		res, err := nd.Publisher.Commit(ctx, st, publish.Meta{UploaderID: u.ID})
		must(t, err)
		out = append(out, published{ih: res.Torrent.InfoHash, path: filepath.Join(st.Volume.TorrentDir(res.Torrent.InfoHash), name)})
	}
	return out
}

// retentionNode builds a seedbox node with one volume capped at capacity,
// on the shared catalog url, whose scheduled retention purges any stale
// torrent above high_water 80% until below 50%, every second.
func retentionNode(t *testing.T, url, name, capacity string) *Node {
	t.Helper()
	return sharedCatalogNode(t, url, name, fmt.Sprintf("capacity = %q\n", capacity), func(cfg *config.Config) {
		cfg.Retention = config.Retention{Auto: true, Interval: config.Duration(time.Second),
			HighWater: 0.8, LowWater: 0.5} // stale_after and min_age 0: every torrent is stale
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond until it holds or the functional deadline passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
