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
	// 2*Interval plus one more Interval or a minute, whichever is less.
	PeerTTL time.Duration
	// NumWantDefault is the number of peers for a request without numwant
	// (default 50); NumWantMax caps numwant (default 200).
	NumWantDefault int
	NumWantMax     int
	// FlushInterval is how often Serve hands accounting deltas to the Sink;
	// default 5s.
	FlushInterval time.Duration
	// GCInterval is how often Serve drops expired peers; default a quarter
	// of PeerTTL, between 1s and 1m.
	GCInterval time.Duration
	// LAN ranks peers LAN first and decides which claimed addresses
	// (ip=, ipv4=, ipv6=) are believed; see NewLAN. Nil knows no campus
	// and no named network: only the requester's own /24 or /64 ranks
	// first, and no claimed address is believed.
	LAN *LAN
	// TrustedProxies are the reverse proxies whose X-Forwarded-For (or
	// X-Real-IP) names the client of an HTTP request.
	TrustedProxies []netip.Prefix
	// AllowedClients are the peer_id prefixes allowed to announce, such as
	// "-qB", "-TR", "A2-"; empty allows every client.
	AllowedClients []string
	// AnnounceRate, when positive, limits each passkey to this many
	// announces per second on average, with bursts of up to AnnounceBurst
	// (default 1000): a token bucket per passkey. Zero: no limit. Seedbox
	// users are never limited.
	AnnounceRate  float64
	AnnounceBurst int
	// EnforceMinInterval makes an announce without event sooner than "min
	// interval" after the peer's last credited one update no stats: it is
	// answered as usual (peers, counts) but credits nothing, and its
	// traffic is credited by the next announce on time. Off, every
	// announce is credited.
	EnforceMinInterval bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	o.Interval = orDefault(o.Interval, 30*time.Minute)
	o.SeedboxInterval = orDefault(o.SeedboxInterval, 5*time.Second)
	o.SeedboxIdleInterval = min(orDefault(o.SeedboxIdleInterval, time.Minute), o.Interval)
	o.PeerTTL = orDefault(o.PeerTTL, 2*o.Interval+min(time.Minute, o.Interval))
	o.NumWantMax = orDefault(o.NumWantMax, 200)
	o.NumWantDefault = min(orDefault(o.NumWantDefault, 50), o.NumWantMax)
	o.FlushInterval = orDefault(o.FlushInterval, 5*time.Second)
	o.GCInterval = orDefault(o.GCInterval, min(time.Minute, max(o.PeerTTL/4, time.Second)))
	o.AnnounceBurst = orDefault(o.AnnounceBurst, 1000)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// minIntervalSeconds is the min interval the ledger enforces: none unless
// EnforceMinInterval.
func minIntervalSeconds(o Options) uint32 {
	if !o.EnforceMinInterval {
		return 0
	}
	return uint32(halfAtLeastSecond(o.Interval) / time.Second)
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

	lan         *LAN
	clients     clientFilter
	limiter     *rateLimiter // nil: no limit
	minInterval uint32       // seconds; see StoreAnnounce.MinInterval
	metrics     *metrics

	announces sync.Pool // *httpAnnounce
	scrapes   sync.Pool // *httpScrape
}

// New returns a Tracker answering from access and store. acct receives the
// accounting deltas; when nil, no accounting is done.
func New(opts Options, access *Access, store PeerStore, acct Sink) *Tracker {
	opts = opts.withDefaults()
	t := &Tracker{
		opts: opts, log: opts.Logger, access: access, store: store, sink: acct, lan: opts.LAN,
		clients:     clientFilter(opts.AllowedClients),
		limiter:     newRateLimiter(opts.AnnounceRate, opts.AnnounceBurst),
		minInterval: minIntervalSeconds(opts),
		metrics:     newMetrics(),
	}
	if t.lan == nil {
		t.lan = defaultLAN()
	}
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

// collectGarbage drops peers not seen for PeerTTL, and with them their
// accounting baselines.
func (t *Tracker) collectGarbage(ctx context.Context) {
	cutoff := t.cutoff()
	n, err := t.store.RemoveExpired(ctx, cutoff)
	if err != nil {
		t.log.Warn("tracker: removing expired peers", "err", err)
	}
	if t.limiter != nil {
		t.limiter.expire(t.clock.now())
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
		t.metrics.flush.lastOK.Store(time.Now().Unix())
		return nil
	}
	start := time.Now()
	err := t.sink.Flush(ctx, batch)
	t.metrics.flush.flushed(time.Since(start), len(batch), err, start)
	if err != nil {
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

// NetworkCounts returns how many peers of the swarm are on each named
// network, every configured network present (0 when it has none). It reads
// the whole swarm: for the portal, not for the announce path. A store error
// is logged and reported as zero counts.
func (t *Tracker) NetworkCounts(ih [20]byte) map[string]int {
	c, err := t.store.CountNetworks(context.Background(), ih)
	if err != nil {
		t.log.Warn("tracker: network counts", "info_hash", fmt.Sprintf("%x", ih), "err", err)
	}
	out := make(map[string]int, len(t.lan.names))
	for i, name := range t.lan.names {
		out[name] = c[i+1]
	}
	return out
}
