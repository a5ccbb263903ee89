package node

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/publish"
)

// TestScrubRoundsLeaderDriven: two nodes share a catalog (SQLite file and
// PostgreSQL). Only the holder of the "scrub" lease starts rounds, one per
// scrub interval; each node scrubs its own volume for every round and
// records its progress; a corrupted replica shows up in the next round's
// progress of its node only.
func TestScrubRoundsLeaderDriven(t *testing.T) {
	forEachSharedCatalog(t, testScrubRounds)
}

func testScrubRounds(t *testing.T, url string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const every = time.Second
	nodes := []*Node{scrubNode(t, url, "n1", every), scrubNode(t, url, "n2", every)}
	sizes := []int{300 << 10, 200 << 10}
	var files []string
	for i, n := range nodes {
		files = append(files, publishFile(t, n, fmt.Sprintf("f%d.bin", i), sizes[i]))
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, n := range nodes {
		l := NewLeader(n.Catalog, "scrub", n.cfg.Seedbox.Node, 3*time.Second, n.log)
		wg.Go(func() { l.Serve(ctx) })
		wg.Go(func() { n.scheduleScrubs(ctx, l) })
		wg.Go(func() { n.serveScrubRounds(ctx) })
	}
	cat := nodes[0].Catalog

	// doneRound waits for a round after after that both nodes finished.
	doneRound := func(after uint64) (uint64, map[string]catalog.ScrubVolumeProgress) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			st, err := cat.ScrubStatusNow(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Round != nil && st.Round.ID > after {
				got := map[string]catalog.ScrubVolumeProgress{}
				for _, p := range st.Progress {
					if p.State == catalog.ScrubDone {
						got[p.Node] = p
					}
				}
				if len(got) == 2 && len(st.Pending) == 0 {
					return st.Round.ID, got
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no scrub round after %d was finished by both nodes", after)
		return 0, nil
	}
	r1, prog := doneRound(0)
	for i, name := range []string{"n1", "n2"} {
		p := prog[name]
		if p.Volume != name+"-vol" || p.BytesDone != int64(sizes[i]) || p.BytesTotal != int64(sizes[i]) ||
			p.Replicas != 1 || p.Corrupt != 0 || p.FinishedAt.IsZero() {
			t.Fatalf("round %d, %s: %+v", r1, name, p)
		}
	}

	// Corrupt n1's replica: the next round finds it there, not on n2.
	f, err := os.OpenFile(files[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("corrupt!"), 1000)
	f.Close()
	r2, prog := doneRound(r1)
	if prog["n1"].Corrupt != 1 || prog["n2"].Corrupt != 0 {
		t.Fatalf("round %d: corrupt n1 %d, n2 %d; want 1, 0", r2, prog["n1"].Corrupt, prog["n2"].Corrupt)
	}

	// Rounds came from fenced runs of lease holders only.
	runs, err := cat.JobRuns(ctx, "scrub", time.Now().Add(-time.Hour))
	if err != nil || len(runs) < 3 { // the baseline and two rounds
		t.Fatalf("scrub job runs: %d, %v", len(runs), err)
	}
	for _, r := range runs {
		if !r.FinishedAt.IsZero() && (r.Held == nil || !*r.Held) {
			t.Fatalf("a scrub schedule run outlived its lease: %+v", r)
		}
	}
}

// scrubNode builds a seedbox node named name with one volume scrubbed every
// every, on the shared catalog url.
func scrubNode(t *testing.T, url, name string, every time.Duration) *Node {
	t.Helper()
	return sharedCatalogNode(t, url, name, fmt.Sprintf("scrub_interval = %q\n", every.String()), nil)
}

// publishFile uploads size random bytes as name on n and returns the path
// of the file on its volume.
func publishFile(t *testing.T, n *Node, name string, size int) string {
	t.Helper()
	u, err := n.Catalog.CreateUser(context.Background(), "up-"+n.cfg.Seedbox.Node, "password123", catalog.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	st, err := n.Publisher.Begin(int64(size))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{byte(size)}).Read(data)
	if _, err := st.AddFile(name, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	out, err := n.Publisher.Commit(context.Background(), st, publish.Meta{UploaderID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(st.Volume.TorrentDir(out.Torrent.InfoHash), name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("published file: %v", err)
	}
	return path
}
