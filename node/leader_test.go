package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/internal/testenv"
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

// leaderCatalogs opens a fresh catalog per dialect.
func leaderCatalogs(t *testing.T, fn func(t *testing.T, cat *catalog.Catalog)) {
	for _, d := range []string{catalog.DialectSQLite, catalog.DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			url := "file:" + t.TempDir() + "/seedbed.db"
			if d == catalog.DialectPostgres {
				url = testenv.Postgres(t)
			}
			cat, err := catalog.Open(context.Background(), catalog.Options{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer cat.Close()
			fn(t, cat)
		})
	}
}

// TestLeaderRunFenced: a run happens only on the leader and is recorded;
// when renewals stop, the run is cancelled before the lease can expire and
// its end is still recorded as held.
func TestLeaderRunFenced(t *testing.T) {
	leaderCatalogs(t, func(t *testing.T, cat *catalog.Catalog) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		const ttl = 5 * time.Second // leading ends 1 s before the lease: time to record the end
		other := NewLeader(cat, "retention", "node-2", ttl, log)
		l := NewLeader(cat, "retention", "node-1", ttl, log)
		l.try(ctx) // leads now; no Serve: no renewals
		if !l.Leading(ctx) {
			t.Fatal("not leading a free lease")
		}
		if ran, err := other.Run(ctx, func(context.Context) error { t.Error("ran without the lease"); return nil }); ran || err != nil {
			t.Fatalf("a follower ran: %v %v", ran, err)
		}
		lease, err := cat.LeaseOf(ctx, "retention")
		if err != nil {
			t.Fatal(err)
		}
		var cancelledAt time.Time
		ran, err := l.Run(ctx, func(ctx context.Context) error {
			<-ctx.Done() // work until told to stop
			cancelledAt = time.Now()
			return ctx.Err()
		})
		if !ran || !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, %v", ran, err)
		}
		if !cancelledAt.Before(lease.ExpiresAt) {
			t.Fatalf("run cancelled at %v, after its lease expired at %v", cancelledAt, lease.ExpiresAt)
		}
		runs, err := cat.JobRuns(ctx, "retention", time.Now().Add(-time.Hour))
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs %+v %v", runs, err)
		}
		if r := runs[0]; r.Node != "node-1" || r.Holder != l.Holder() || r.Epoch != lease.Epoch || r.Held == nil || !*r.Held ||
			r.Error != context.Canceled.Error() {
			t.Fatalf("run %+v", r)
		}
	})
}

// TestLeaderRunOutlivingLeaseIsDetected: work that ignores its context and
// runs past the lease, while another node takes over, is reported and
// recorded as not held.
func TestLeaderRunOutlivingLeaseIsDetected(t *testing.T) {
	leaderCatalogs(t, func(t *testing.T, cat *catalog.Catalog) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		const ttl = 600 * time.Millisecond
		l := NewLeader(cat, "scrub", "node-1", ttl, log)
		l.try(ctx)
		ran, err := l.Run(ctx, func(context.Context) error {
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) { // a stubborn job: ignores ctx
				if e, err := cat.AcquireLeaseEpoch(ctx, "scrub", "node-2/x", time.Minute); err == nil && e > 0 {
					return nil // node-2 leads now
				}
				time.Sleep(20 * time.Millisecond)
			}
			return errors.New("node-2 never took over")
		})
		if !ran || !errors.Is(err, catalog.ErrLeaseLost) {
			t.Fatalf("Run = %v, %v; want ErrLeaseLost", ran, err)
		}
		runs, err := cat.JobRuns(ctx, "scrub", time.Now().Add(-time.Hour))
		if err != nil || len(runs) != 1 || runs[0].Held == nil || *runs[0].Held {
			t.Fatalf("runs %+v %v", runs, err)
		}
	})
}
