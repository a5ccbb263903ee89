package tracker

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Options configure a Tracker. Zero values take the documented defaults.
type Options struct {
	// Interval is the re-announce interval handed to clients, with ±10%
	// jitter; default 30m. The reply's "min interval" is Interval/2, at
	// least 1s.
	Interval time.Duration
	// SeedboxInterval is handed to Seedbox users while their swarm has
	// leechers; default 5s. The seedbox so learns of leechers that never
	// dial out (Transmission on 127/8) and connects to them.
	SeedboxInterval time.Duration
	// SeedboxIdleInterval is handed to Seedbox users while their swarm has
	// no leecher; default 60s (at most Interval). It bounds how long a
	// seedbox on another node takes to notice a leecher that never dials out.
	SeedboxIdleInterval time.Duration
	// OnLeecher, if set, is called when a leecher starts (event=started) so
	// a seedbox in the same process can connect to it at once. It runs on
	// the announce path: it must not block.
	OnLeecher func(ih [20]byte, addr netip.AddrPort)
	// PeerTTL drops a peer that has not announced for this long; default
	// 2*Interval + 1m.
	PeerTTL time.Duration
	// NumWantDefault is the number of peers for a request without numwant
	// (default 50); NumWantMax caps numwant (default 200).
	NumWantDefault int
	NumWantMax     int
	// FlushInterval is how often Serve hands accounting deltas to the Sink;
	// default 5s.
	FlushInterval time.Duration
	// GCInterval is how often Serve drops expired peers; default 1m.
	GCInterval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	o.Interval = orDefault(o.Interval, 30*time.Minute)
	o.SeedboxInterval = orDefault(o.SeedboxInterval, 5*time.Second)
	o.SeedboxIdleInterval = min(orDefault(o.SeedboxIdleInterval, time.Minute), o.Interval)
	o.PeerTTL = orDefault(o.PeerTTL, 2*o.Interval+time.Minute)
	o.NumWantMax = orDefault(o.NumWantMax, 200)
	o.NumWantDefault = min(orDefault(o.NumWantDefault, 50), o.NumWantMax)
	o.FlushInterval = orDefault(o.FlushInterval, 5*time.Second)
	o.GCInterval = orDefault(o.GCInterval, time.Minute)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// orDefault returns v, or def when v is not positive.
func orDefault[T time.Duration | int](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Tracker is the announce and scrape logic with its HTTP frontend. Create it
// with New and run Serve for as long as it answers requests.
type Tracker struct {
	opts   Options
	log    *slog.Logger
	access *Access
	store  PeerStore
	ledger *ledger // nil without a Sink
	sink   Sink
	clock  clock

	announces sync.Pool // *httpAnnounce
	scrapes   sync.Pool // *httpScrape
}

// New returns a Tracker answering from access and store. acct receives the
// accounting deltas; when nil, no accounting is done.
func New(opts Options, access *Access, store PeerStore, acct Sink) *Tracker {
	opts = opts.withDefaults()
	t := &Tracker{opts: opts, log: opts.Logger, access: access, store: store, sink: acct}
	if acct != nil {
		t.ledger = newLedger(opts.PeerTTL)
	}
	t.clock.set(time.Now())
	t.announces.New = func() any { return new(httpAnnounce) }
	t.scrapes.New = func() any { return new(httpScrape) }
	return t
}

// Serve advances the cached clock, drops expired peers and flushes the
// accounting deltas until ctx is done, then flushes once more. A failed
// flush keeps its deltas for the next one.
func (t *Tracker) Serve(ctx context.Context) error {
	t.clock.set(time.Now())
	second := time.NewTicker(time.Second)
	defer second.Stop()
	gc := time.NewTicker(t.opts.GCInterval)
	defer gc.Stop()
	flush := time.NewTicker(t.opts.FlushInterval)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			return t.finalFlush(ctx)
		case now := <-second.C:
			t.clock.set(now)
		case <-gc.C:
			t.collectGarbage(ctx)
		case <-flush.C:
			if err := t.flush(ctx); err != nil {
				t.log.Warn("tracker: accounting flush failed, will retry", "err", err)
			}
		}
	}
}

func (t *Tracker) finalFlush(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := t.flush(ctx); err != nil {
		return fmt.Errorf("final accounting flush: %w", err)
	}
	return nil
}

// collectGarbage drops peers and accounting baselines not seen for PeerTTL.
func (t *Tracker) collectGarbage(ctx context.Context) {
	cutoff := t.cutoff()
	n, err := t.store.RemoveExpired(ctx, cutoff)
	if err != nil {
		t.log.Warn("tracker: removing expired peers", "err", err)
	}
	if t.ledger != nil {
		t.ledger.expire(cutoff)
	}
	t.log.Debug("tracker: expired peers removed", "peers", n)
}

func (t *Tracker) cutoff() uint32 {
	now, ttl := t.clock.now(), uint32(t.opts.PeerTTL/time.Second)
	return now - min(ttl, now)
}

// flush hands the pending deltas to the Sink, or puts them back on failure.
func (t *Tracker) flush(ctx context.Context) error {
	if t.ledger == nil {
		return nil
	}
	batch := t.ledger.drain()
	if len(batch) == 0 {
		return nil
	}
	if err := t.sink.Flush(ctx, batch); err != nil {
		t.ledger.restore(batch)
		return fmt.Errorf("flush %d deltas: %w", len(batch), err)
	}
	return nil
}

// Counts returns a swarm's counts for the portal, from the peer store only.
// A store error is logged and reported as zero counts.
func (t *Tracker) Counts(ih [20]byte) SwarmCounts {
	c, err := t.store.Counts(context.Background(), ih)
	if err != nil {
		t.log.Warn("tracker: swarm counts", "info_hash", fmt.Sprintf("%x", ih), "err", err)
	}
	return c
}
