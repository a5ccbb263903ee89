package tracker

import (
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"
)

// Protocol is the frontend a request came through, as metrics label it.
type Protocol uint8

// The frontends.
const (
	ProtocolHTTP Protocol = iota
	ProtocolUDP
	numProtocols
)

var protocolNames = [numProtocols]string{"http", "udp"}

// result is how a request ended, as metrics label it.
type result uint8

const (
	resultOK result = iota
	resultMalformed
	resultUnknownPasskey
	resultDisabled
	resultUnregistered
	resultClientNotAllowed
	resultRateLimited
	resultInternal
	numResults
)

var resultNames = [numResults]string{
	"ok", "malformed", "unknown_passkey", "account_disabled", "unregistered",
	"client_not_allowed", "rate_limited", "internal",
}

// resultOf maps what a request was answered with to its result: a
// ClientError by its kind, any other error is internal.
func resultOf(err error) result {
	if err == nil {
		return resultOK
	}
	ce, ok := err.(ClientError)
	if !ok {
		if ce, ok = wrappedClientError(err); !ok {
			return resultInternal
		}
	}
	switch ce {
	case errMissingPasskey, errUnknownPasskey:
		return resultUnknownPasskey
	case errAccountDisabled:
		return resultDisabled
	case errNotRegistered:
		return resultUnregistered
	case errRateLimited:
		return resultRateLimited
	case errInternal:
		return resultInternal
	}
	if strings.HasPrefix(string(ce), clientNotAllowed) {
		return resultClientNotAllowed
	}
	return resultMalformed
}

// wrappedClientError finds a ClientError wrapped in err. It is apart from
// resultOf because the target of errors.As escapes to the heap.
func wrappedClientError(err error) (ClientError, bool) {
	var ce ClientError
	ok := errors.As(err, &ce)
	return ce, ok
}

// counterStripes spreads each counter over this many cache lines, so that
// cores counting at once rarely write the same line.
const counterStripes = 8

// counters is a fixed set of atomic counters. Adding is one atomic add on a
// randomly chosen stripe: no lock, no allocation; reading sums the stripes.
type counters struct {
	stripes [counterStripes][]atomic.Uint64
}

func newCounters(n int) *counters {
	c := &counters{}
	width := (n + 7) &^ 7 // whole 64-byte lines
	for i := range c.stripes {
		c.stripes[i] = make([]atomic.Uint64, width)
	}
	return c
}

func (c *counters) add(i int, d uint64) { c.stripes[rand.Uint32()%counterStripes][i].Add(d) }

func (c *counters) value(i int) uint64 {
	var v uint64
	for s := range c.stripes {
		v += c.stripes[s][i].Load()
	}
	return v
}

// metrics are the tracker's counters; WriteMetrics renders them.
type metrics struct {
	announces *counters // index protocol*numResults + result
	scrapes   *counters
	early     *counters // [0]: announces answered without updating stats
	returned  *counters // peers handed out per Tier; [NumTiers]: seedboxes
	flush     flushMetrics
}

// flushBuckets are the upper bounds, in seconds, of the flush latency
// histogram.
var flushBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// flushMetrics describe the accounting flushes; only Serve writes them.
type flushMetrics struct {
	ok, failed atomic.Uint64
	buckets    [len(flushBuckets) + 1]atomic.Uint64 // per bucket, not cumulative; last: above all
	sumNanos   atomic.Uint64
	lastOK     atomic.Int64 // Unix seconds of the last flush that left nothing behind
	lastBatch  atomic.Int64
}

func newMetrics() *metrics {
	return &metrics{
		announces: newCounters(int(numProtocols) * int(numResults)),
		scrapes:   newCounters(int(numProtocols) * int(numResults)),
		early:     newCounters(1),
		returned:  newCounters(int(NumTiers) + 1),
	}
}

// CountAnnounce records how an announce that came through frontend p ended:
// err is what the client was answered with, nil for success. A frontend
// calls it once per announce request, parse failures included.
func (t *Tracker) CountAnnounce(p Protocol, err error) {
	t.metrics.announces.add(int(p%numProtocols)*int(numResults)+int(resultOf(err)), 1)
}

// CountScrape is CountAnnounce for scrapes.
func (t *Tracker) CountScrape(p Protocol, err error) {
	t.metrics.scrapes.add(int(p%numProtocols)*int(numResults)+int(resultOf(err)), 1)
}

// countReturned counts the peers handed to r by tier, and the seedboxes.
func (m *metrics) countReturned(r *Requester, peers []Peer) {
	var per [NumTiers + 1]uint64
	for i := range peers {
		per[r.Tier(&peers[i])]++
		if peers[i].Class.Seedbox() {
			per[NumTiers]++
		}
	}
	for i, n := range per {
		if n > 0 {
			m.returned.add(i, n)
		}
	}
}

// flushed records one flush of batch deltas that took d.
func (f *flushMetrics) flushed(d time.Duration, batch int, err error, now time.Time) {
	f.lastBatch.Store(int64(batch))
	if err != nil {
		f.failed.Add(1)
	} else {
		f.ok.Add(1)
		f.lastOK.Store(now.Unix())
	}
	i := 0
	for i < len(flushBuckets) && d.Seconds() > flushBuckets[i] {
		i++
	}
	f.buckets[i].Add(1)
	f.sumNanos.Add(uint64(d))
}
