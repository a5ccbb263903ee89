package udpload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"
)

// reconnectEvery renews the connection id well within BEP 15's minute.
const reconnectEvery = 30 * time.Second

// slot is one announce in flight.
type slot struct {
	active bool
	tx     uint32
	sent   time.Time
	peer   int64 // the Fill index, or -1
}

// worker owns one socket and keeps Window announces in flight on it.
type worker struct {
	o       *Options
	conn    *net.UDPConn
	budget  *atomic.Int64
	rng     *rand.Rand
	salt    uint32
	shift   uint
	connID  uint64
	connAt  time.Time
	seq     uint32
	slots   []slot
	active  int
	lastScn time.Time
	in, out []byte
	url     []byte
	res     Result
}

func newWorker(raddr *net.UDPAddr, o *Options, budget *atomic.Int64, seed uint64) (*worker, error) {
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("udpload: %w", err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	shift := uint(0)
	for 1<<shift < o.Window {
		shift++
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &worker{o: o, conn: conn, budget: budget, rng: rng, salt: rng.Uint32(), shift: shift,
		slots: make([]slot, o.Window), in: make([]byte, 2048), out: make([]byte, 0, 512)}, nil
}

// run announces until ctx ends or the budget is spent, then collects the
// replies still in flight.
func (w *worker) run(ctx context.Context) error {
	if err := w.connect(ctx); err != nil {
		return err
	}
	for i := range w.slots {
		if !w.send(ctx, i, -1) {
			break
		}
	}
	for w.active > 0 {
		if err := w.step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// step reads one reply (or times out), accounts for it, and refills its slot.
func (w *worker) step(ctx context.Context) error {
	now := time.Now()
	_ = w.conn.SetReadDeadline(now.Add(w.o.Timeout / 4))
	n, err := w.conn.Read(w.in)
	now = time.Now()
	if now.Sub(w.lastScn) > w.o.Timeout/4 {
		w.expire(ctx, now)
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return nil
	case err != nil:
		return fmt.Errorf("udpload: read: %w", err)
	}
	reply, perr := ParseAnnounceReply(w.in[:n], false, int(w.o.NumWant))
	i := int(reply.TxID & (uint32(len(w.slots)) - 1))
	s := &w.slots[i]
	if n < 8 || !s.active || s.tx != reply.TxID {
		w.res.Late++
		return nil
	}
	s.active = false
	w.active--
	if perr != nil {
		w.res.Invalid++
		if w.res.FirstErr == "" {
			w.res.FirstErr = perr.Error()
		}
		var te *TrackerError
		if errors.As(perr, &te) && w.o.Fill > 0 {
			return fmt.Errorf("udpload: fill: %w", perr)
		}
	} else {
		w.res.OK++
		w.res.Peers += int64(reply.Peers)
		if reply.Peers == 0 {
			w.res.Empty++
		}
		w.res.latencies.add(now.Sub(s.sent))
	}
	w.send(ctx, i, -1)
	return nil
}

// expire counts the announces unanswered for Timeout as lost; in Fill mode
// it sends them again, so every peer gets in.
func (w *worker) expire(ctx context.Context, now time.Time) {
	w.lastScn = now
	for i := range w.slots {
		s := &w.slots[i]
		if !s.active || now.Sub(s.sent) < w.o.Timeout {
			continue
		}
		s.active = false
		w.active--
		w.res.Lost++
		w.send(ctx, i, s.peer)
	}
}

// send fills slot i with the next announce (or the retry of Fill peer
// `retry` when not negative), unless the run is over. It reports whether
// it sent one.
func (w *worker) send(ctx context.Context, i int, retry int64) bool {
	if ctx.Err() != nil {
		return false
	}
	peer := retry
	if peer < 0 {
		n := w.budget.Add(1)
		if w.o.Requests > 0 && n > int64(w.o.Requests) {
			return false
		}
		if w.o.Fill > 0 {
			peer = n - 1
		}
	}
	if time.Since(w.connAt) > reconnectEvery && w.active == 0 {
		if err := w.connect(ctx); err != nil {
			return false
		}
	}
	var a Announce
	var urlData []byte
	w.fillAnnounce(&a, peer)
	if len(w.o.Passkeys) > 0 {
		k := w.rng.IntN(len(w.o.Passkeys))
		if peer >= 0 {
			k = int(peer % int64(len(w.o.Passkeys)))
		}
		w.url = append(append(w.url[:0], "/announce/"...), w.o.Passkeys[k]...)
		urlData = w.url
	}
	w.seq++
	tx := w.seq<<w.shift | uint32(i)
	w.out = appendAnnounce(w.out[:0], w.connID, tx, &a, w.rng.Uint32(), urlData)
	w.slots[i] = slot{active: true, tx: tx, sent: time.Now(), peer: peer}
	w.active++
	w.res.Sent++
	if _, err := w.conn.Write(w.out); err != nil && w.res.FirstErr == "" {
		w.res.FirstErr = err.Error()
	}
	return true
}

// fillAnnounce makes a random announce, or that of Fill peer `peer`: a
// started leecher or seeder on torrent peer mod len(InfoHashes), with a
// port unique within its swarm.
func (w *worker) fillAnnounce(a *Announce, peer int64) {
	a.NumWant = w.o.NumWant
	if peer >= 0 {
		nt := int64(len(w.o.InfoHashes))
		a.InfoHash = w.o.InfoHashes[peer%nt]
		a.PeerID = peerID(uint64(peer), 0)
		a.Port = uint16(1024 + (peer/nt)%60000)
		a.Event = EventStarted
		if peer%4 == 0 {
			a.Left = 0
		} else {
			a.Left = 1 << 20
		}
		return
	}
	a.InfoHash = w.o.InfoHashes[w.rng.IntN(len(w.o.InfoHashes))]
	a.PeerID = peerID(w.rng.Uint64(), w.salt)
	a.Port = uint16(1025 + w.rng.IntN(64000))
	a.Uploaded = w.rng.Int64N(1 << 30)
	a.Downloaded = w.rng.Int64N(1 << 30)
	if w.rng.IntN(4) == 0 {
		a.Left = 0
	} else {
		a.Left = w.rng.Int64N(1 << 30)
	}
	if w.rng.IntN(10) == 0 {
		a.Event = EventStarted
	}
}

// connect gets a connection id, trying up to 5 times. Only called with no
// announce in flight.
func (w *worker) connect(ctx context.Context) error {
	var err error
	for range 5 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.seq++
		tx := w.seq
		if _, err = w.conn.Write(appendConnect(w.out[:0], tx)); err != nil {
			continue
		}
		deadline := time.Now().Add(w.o.Timeout)
		for time.Now().Before(deadline) {
			_ = w.conn.SetReadDeadline(deadline)
			n, rerr := w.conn.Read(w.in)
			if rerr != nil {
				err = rerr
				break
			}
			rtx, id, perr := parseConnectReply(w.in[:n])
			if perr != nil || rtx != tx {
				err = perr
				continue
			}
			w.connID, w.connAt = id, time.Now()
			return nil
		}
	}
	return fmt.Errorf("udpload: connect to %s: %w", w.conn.RemoteAddr(), err)
}
