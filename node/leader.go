package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// LeaseTTL is how long a job lease lasts without renewal: a node that dies
// hands its jobs over to another node within about this long.
const LeaseTTL = 15 * time.Second

// Leader holds a lease in the catalog for one job that must run on one node
// at a time (retention, scrub scheduling). Serve keeps taking or renewing
// the lease; Leading is true only while the lease is surely this node's: a
// node whose renewals fail stops leading before its lease can expire, so two
// nodes never lead at once, even across a network partition from the
// database.
//
// Run fences the job's work: it records every run in the catalog under the
// lease's epoch, cancels the work the moment leading ends (before the lease
// can expire), and checks at the end that the lease was still held with the
// same epoch, so a run that outlived its lease is recorded and reported.
type Leader struct {
	cat    *catalog.Catalog
	name   string
	node   string
	holder string // node name plus a random id: a restarted node is a new holder
	ttl    time.Duration
	log    *slog.Logger

	mu      sync.Mutex
	until   time.Time // leading before this instant (local clock)
	epoch   int64     // the lease's epoch while leading
	closed  bool      // Serve has ended: no new runs
	running sync.WaitGroup
	stopped chan struct{} // closed when Serve ends: running jobs are cancelled
}

// NewLeader makes a Leader for the lease name of node.
func NewLeader(cat *catalog.Catalog, name, node string, ttl time.Duration, log *slog.Logger) *Leader {
	var id [4]byte
	rand.Read(id[:])
	return &Leader{cat: cat, name: name, node: node, holder: node + "/" + hex.EncodeToString(id[:]), ttl: ttl, log: log,
		stopped: make(chan struct{})}
}

// Holder is this process's holder name in the leases table.
func (l *Leader) Holder() string { return l.holder }

// Leading reports whether this node holds the lease now.
func (l *Leader) Leading(context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Now().Before(l.until)
}

// Serve takes the lease when it is free and renews it every third of its
// time to live until ctx ends, then stops a running job and releases the
// lease so another node takes over at once.
func (l *Leader) Serve(ctx context.Context) error {
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	for {
		l.try(ctx)
		select {
		case <-ctx.Done():
			l.release()
			return nil
		case <-tick.C:
		}
	}
}

// try takes or renews the lease. Leading lasts until ttl minus a margin
// after the moment the request was sent: the database counts from later.
func (l *Leader) try(ctx context.Context) {
	sent := time.Now()
	epoch, err := l.cat.AcquireLeaseEpoch(ctx, l.name, l.holder, l.ttl)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("lease: renew failed", "lease", l.name, "err", err)
		}
		return // leading ends by itself when until passes
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	was := time.Now().Before(l.until)
	ok := epoch > 0 && !l.closed
	if ok {
		l.until, l.epoch = sent.Add(l.ttl-l.ttl/5), epoch
	} else {
		l.until, l.epoch = time.Time{}, 0
	}
	if ok != was {
		l.log.Info("lease: leadership changed", "lease", l.name, "holder", l.holder, "leading", ok, "epoch", epoch)
	}
}

// release stops leading, cancels a running job and waits for it to record
// its end, then gives the lease up, with a fresh context: ctx has ended.
func (l *Leader) release() {
	l.mu.Lock()
	l.until, l.epoch = time.Time{}, 0
	if !l.closed {
		l.closed = true
		close(l.stopped)
	}
	l.mu.Unlock()
	l.running.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.cat.ReleaseLease(ctx, l.name, l.holder); err != nil {
		l.log.Warn("lease: release failed", "lease", l.name, "err", err)
	}
}

// enter returns the epoch and local deadline while leading, and counts a
// run in (the caller must call running.Done).
func (l *Leader) enter() (epoch int64, until time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.epoch == 0 || !time.Now().Before(l.until) {
		return 0, time.Time{}, false
	}
	l.running.Add(1)
	return l.epoch, l.until, true
}

// deadline returns how long epoch still leads; false once it does not.
func (l *Leader) deadline(epoch int64) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until, l.epoch == epoch && time.Now().Before(l.until)
}

// Run runs fn once if this node leads, as a fenced run of the job: the run
// is recorded in the catalog (node, holder, epoch, start, end) only after
// the catalog confirmed the lease in the same transaction; fn's context is
// cancelled the moment leading ends, which is before the lease can expire;
// and the end is recorded with whether the lease was still held. ran is
// false when this node does not lead. The error is fn's, or
// catalog.ErrLeaseLost when the run outlived its lease.
func (l *Leader) Run(ctx context.Context, fn func(context.Context) error) (ran bool, err error) {
	epoch, until, ok := l.enter()
	if !ok {
		return false, nil
	}
	defer l.running.Done()
	id, err := l.cat.StartJobRun(ctx, l.name, l.node, l.holder, epoch)
	if errors.Is(err, catalog.ErrLeaseLost) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go l.fence(rctx, cancel, epoch, until, stopped)
	runErr := fn(rctx)
	cancel()
	<-stopped
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer fcancel()
	if ferr := l.cat.FinishJobRun(fctx, id, runErr); ferr != nil {
		l.log.Error("lease: a job run outlived its lease or was not recorded", "lease", l.name, "run", id, "err", ferr)
		return true, errors.Join(runErr, ferr)
	}
	if runErr != nil {
		return true, fmt.Errorf("%s run: %w", l.name, runErr)
	}
	return true, nil
}

// fence cancels a run when leading with epoch ends: at the local deadline,
// unless a renewal pushed it further.
func (l *Leader) fence(ctx context.Context, cancel context.CancelFunc, epoch int64, until time.Time, stopped chan<- struct{}) {
	defer close(stopped)
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.stopped:
			cancel()
			return
		case <-timer.C:
		}
		next, ok := l.deadline(epoch)
		if !ok {
			l.log.Warn("lease: leadership ended during a run: cancelling it", "lease", l.name)
			cancel()
			return
		}
		timer.Reset(time.Until(next))
	}
}
