package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
type Leader struct {
	cat    *catalog.Catalog
	name   string
	holder string // node name plus a random id: a restarted node is a new holder
	ttl    time.Duration
	log    *slog.Logger

	mu    sync.Mutex
	until time.Time // leading before this instant (local clock)
}

// NewLeader makes a Leader for the lease name of node.
func NewLeader(cat *catalog.Catalog, name, node string, ttl time.Duration, log *slog.Logger) *Leader {
	var id [4]byte
	rand.Read(id[:])
	return &Leader{cat: cat, name: name, holder: node + "/" + hex.EncodeToString(id[:]), ttl: ttl, log: log}
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
// time to live until ctx ends, then releases it so another node takes over
// at once.
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
	ok, err := l.cat.AcquireLease(ctx, l.name, l.holder, l.ttl)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("lease: renew failed", "lease", l.name, "err", err)
		}
		return // leading ends by itself when until passes
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	was := time.Now().Before(l.until)
	if ok {
		l.until = sent.Add(l.ttl - l.ttl/5)
	} else {
		l.until = time.Time{}
	}
	if ok != was {
		l.log.Info("lease: leadership changed", "lease", l.name, "holder", l.holder, "leading", ok)
	}
}

// release gives the lease up (with a fresh context: ctx has ended).
func (l *Leader) release() {
	l.mu.Lock()
	l.until = time.Time{}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.cat.ReleaseLease(ctx, l.name, l.holder); err != nil {
		l.log.Warn("lease: release failed", "lease", l.name, "err", err)
	}
}
