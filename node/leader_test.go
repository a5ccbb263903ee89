package node

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// TestLeaderHandover: three leaders compete for one lease; at every moment
// at most one leads, and when it stops another takes over.
func TestLeaderHandover(t *testing.T) {
	cat, err := catalog.Open(context.Background(), catalog.Options{URL: "file:" + t.TempDir() + "/seedbed.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const ttl = 600 * time.Millisecond
	var leaders []*Leader
	var stops []context.CancelFunc
	var wg sync.WaitGroup
	for _, name := range []string{"node-1", "node-2", "node-3"} {
		l := NewLeader(cat, "retention", name, ttl, log)
		ctx, cancel := context.WithCancel(context.Background())
		leaders, stops = append(leaders, l), append(stops, cancel)
		wg.Add(1)
		go func() { defer wg.Done(); l.Serve(ctx) }()
	}
	defer func() {
		for _, s := range stops {
			s()
		}
		wg.Wait()
	}()
	current := func() int {
		idx, n := -1, 0
		for i, l := range leaders {
			if l.Leading(context.Background()) {
				idx, n = i, n+1
			}
		}
		if n > 1 {
			t.Fatalf("%d leaders at once", n)
		}
		return idx
	}
	waitLeader := func(not int) int {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if i := current(); i >= 0 && i != not {
				return i
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no leader")
		return -1
	}
	first := waitLeader(-1)
	for range 50 { // it stays leader while it renews
		if i := current(); i != first {
			t.Fatalf("leader changed from %d to %d while renewing", first, i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stops[first]() // a clean stop releases: another takes over
	second := waitLeader(first)
	if leaders[first].Leading(context.Background()) {
		t.Fatal("a stopped leader still leads")
	}
	if second == first {
		t.Fatal("no handover")
	}
}

// TestLeaderWaitsForCrashedHolder: a holder that died without releasing
// (SIGKILL) keeps the lease until it expires; then another node leads.
func TestLeaderWaitsForCrashedHolder(t *testing.T) {
	cat, err := catalog.Open(context.Background(), catalog.Options{URL: "file:" + t.TempDir() + "/seedbed.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	const ttl = time.Second
	if ok, err := cat.AcquireLease(context.Background(), "scrub", "node-1/dead", ttl); !ok || err != nil {
		t.Fatalf("dead holder: %v %v", ok, err)
	}
	crashed := time.Now()
	l := NewLeader(cat, "scrub", "node-2", 300*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	for !l.Leading(ctx) {
		if time.Since(crashed) > 5*time.Second {
			t.Fatal("the lease of a dead holder was never taken over")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(crashed); d < ttl {
		t.Fatalf("took over after %v, before the dead holder's lease expired", d)
	}
}
