package udpload

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure Run. Zero values take the documented defaults.
type Options struct {
	// Addr is the tracker's UDP address, host:port.
	Addr string
	// InfoHashes are the torrents announced; required.
	InfoHashes [][20]byte
	// Passkeys, when set, go into each announce as BEP 41 URL data
	// "/announce/<passkey>", chosen at random per announce (per peer when
	// filling).
	Passkeys []string
	// Sockets is the number of client sockets, each with its own goroutine
	// (default 4); Window the announces in flight per socket, rounded up to
	// a power of two (default 32).
	Sockets int
	Window  int
	// Duration bounds the run (default 10s); Requests, when positive,
	// bounds the number of announces too.
	Duration time.Duration
	Requests int
	// Fill, when positive, announces exactly Fill distinct peers, each
	// once (lost ones are retried): peer i joins torrent i mod
	// len(InfoHashes), so Fill peers spread evenly over the torrents. It
	// overrides Requests; Duration still bounds the run.
	Fill int
	// NumWant is asked for in each announce (default 50; negative: the
	// tracker's default).
	NumWant int32
	// Timeout is when an unanswered announce counts as lost (default 1s).
	Timeout time.Duration
	// Seed seeds the random peers (0: a random seed).
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.Sockets <= 0 {
		o.Sockets = 4
	}
	if o.Window <= 0 {
		o.Window = 32
	}
	o.Window = 1 << bits.Len(uint(o.Window-1))
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.NumWant == 0 {
		o.NumWant = 50
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.Fill > 0 {
		o.Requests = o.Fill
	}
	return o
}

// Result is what a run measured. Every reply counted in OK was parsed and
// checked as a real peer list (see ParseAnnounceReply).
type Result struct {
	Elapsed   time.Duration
	Sent      int64 // announces sent, retries included
	OK        int64 // valid announce replies
	Invalid   int64 // replies that failed ParseAnnounceReply, error replies included
	Lost      int64 // announces without a reply within Timeout
	Late      int64 // replies to announces already counted lost
	Empty     int64 // valid replies that listed no peer
	Peers     int64 // peers listed in all valid replies
	FirstErr  string
	latencies histogram
}

// Rate is valid announces per second.
func (r *Result) Rate() float64 { return float64(r.OK) / r.Elapsed.Seconds() }

// Latency returns the q-quantile (0..1) of the valid announces' latency.
func (r *Result) Latency(q float64) time.Duration { return r.latencies.quantile(q) }

// Run connects and announces until Duration ends or the request budget is
// spent, then waits up to Timeout for the replies still in flight.
func Run(ctx context.Context, o Options) (*Result, error) {
	o = o.withDefaults()
	if len(o.InfoHashes) == 0 {
		return nil, errors.New("udpload: no info hashes")
	}
	raddr, err := net.ResolveUDPAddr("udp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("udpload: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var budget atomic.Int64
	workers := make([]*worker, o.Sockets)
	for i := range workers {
		w, err := newWorker(raddr, &o, &budget, o.Seed+uint64(i))
		if err != nil {
			closeAll(workers)
			return nil, err
		}
		workers[i] = w
	}
	defer closeAll(workers)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(workers))
	for i, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = w.run(ctx) }()
	}
	wg.Wait()
	res := &Result{Elapsed: time.Since(start)}
	for _, w := range workers {
		res.merge(&w.res)
	}
	return res, errors.Join(errs...)
}

func closeAll(ws []*worker) {
	for _, w := range ws {
		if w != nil {
			w.conn.Close()
		}
	}
}

func (r *Result) merge(o *Result) {
	r.Sent += o.Sent
	r.OK += o.OK
	r.Invalid += o.Invalid
	r.Lost += o.Lost
	r.Late += o.Late
	r.Empty += o.Empty
	r.Peers += o.Peers
	if r.FirstErr == "" {
		r.FirstErr = o.FirstErr
	}
	r.latencies.merge(&o.latencies)
}

// ReadLines reads a file of one item per line, skipping empty lines.
func ReadLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for len(b) > 0 {
		line := b
		if i := indexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 {
			out = append(out, string(line))
		}
	}
	return out, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// peerID returns a 20-byte peer id: an Azureus-style client prefix and 12
// bytes of n.
func peerID(n uint64, salt uint32) (id [20]byte) {
	copy(id[:], "-UL0001-")
	binary.BigEndian.PutUint64(id[8:], n)
	binary.BigEndian.PutUint32(id[16:], salt)
	return id
}
