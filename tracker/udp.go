package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"
)

const (
	// udpMaxReaders bounds the reader goroutines of ServeUDP (one per
	// core up to this).
	udpMaxReaders = 8
	// udpReadBuffer holds any UDP datagram, so none is ever truncated.
	udpReadBuffer = 64 << 10
	// udpPasskeyCache bounds a reader's table of known passkeys.
	udpPasskeyCache = 1 << 16
)

// ServeUDP is the UDP frontend (BEP 15, passkeys as BEP 41 URL data): it
// answers the requests that arrive on pc until ctx ends, then returns nil.
// It returns an error only when reading from pc fails for good (pc was
// closed). Replies go to the source address of each request. To stop, it
// sets a read deadline in the past on pc; closing pc is up to the caller.
//
// A few reader goroutines (one per core, at most 8) each read packets,
// answer them and send the replies, with their own buffers and request
// structs: a steady-state announce allocates nothing when pc is a
// *net.UDPConn. On Linux they take up to udpBatchSize packets per
// recvmmsg(2) and send the replies with one sendmmsg(2).
func (t *Tracker) ServeUDP(ctx context.Context, pc net.PacketConn) error {
	conn, key := asUDPConn(pc), newConnIDKey()
	g, ctx := errgroup.WithContext(ctx)
	stop := context.AfterFunc(ctx, func() { _ = pc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	t.log.Info("udp tracker listening", "addr", pc.LocalAddr().String())
	for range min(runtime.GOMAXPROCS(0), udpMaxReaders) {
		w := t.newUDPWorker(conn, key)
		g.Go(func() error { return w.run(ctx) })
	}
	return g.Wait()
}

// udpConn is what ServeUDP needs of its socket; *net.UDPConn has it without
// allocating an address per packet.
type udpConn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

func asUDPConn(pc net.PacketConn) udpConn {
	if c, ok := pc.(udpConn); ok {
		return c
	}
	return packetConn{pc}
}

// packetConn adapts any other net.PacketConn.
type packetConn struct{ net.PacketConn }

func (c packetConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, addr, err := c.ReadFrom(b)
	if err != nil {
		return n, netip.AddrPort{}, err
	}
	if ua, ok := addr.(*net.UDPAddr); ok {
		return n, ua.AddrPort(), nil
	}
	ap, _ := netip.ParseAddrPort(addr.String()) // invalid: the packet is dropped
	return n, ap, nil
}

func (c packetConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.WriteTo(b, net.UDPAddrFromAddrPort(addr))
}

// udpWorker is one reader goroutine's state, reused for every packet.
type udpWorker struct {
	t        *Tracker
	conn     udpConn
	ids      *connIDSigner
	in, out  []byte
	pkt      udpRequest
	areq     AnnounceRequest
	aresp    AnnounceResponse
	sreq     ScrapeRequest
	sresp    ScrapeResponse
	passkeys map[string]string // interned known passkeys: no allocation per announce
}

func (t *Tracker) newUDPWorker(conn udpConn, key []byte) *udpWorker {
	return &udpWorker{
		t: t, conn: conn, ids: newConnIDSigner(key),
		in: make([]byte, udpReadBuffer), out: make([]byte, 0, udpMaxReply+64),
		passkeys: make(map[string]string),
	}
}

// run reads and answers packets until ctx ends or the socket is closed: in
// batches (recvmmsg/sendmmsg) on Linux with a *net.UDPConn, else one at a
// time.
func (w *udpWorker) run(ctx context.Context) error {
	if b := newUDPBatch(w.conn); b != nil {
		return w.runBatch(ctx, b)
	}
	for {
		n, from, err := w.conn.ReadFromUDPAddrPort(w.in)
		if err != nil {
			if stop, err := w.readFailed(ctx, err); stop {
				return err
			}
			continue
		}
		w.serve(ctx, w.in[:n], from)
	}
}

// readFailed decides what a failed read means: the end (ctx is done: nil;
// the socket is closed: an error), or a passing failure, logged, after
// which reading goes on after a short pause.
func (w *udpWorker) readFailed(ctx context.Context, err error) (stop bool, _ error) {
	if ctx.Err() != nil {
		return true, nil
	}
	if errors.Is(err, net.ErrClosed) {
		return true, fmt.Errorf("udp tracker: read: %w", err)
	}
	w.t.log.Warn("udp tracker: read failed", "err", err)
	select {
	case <-ctx.Done():
		return true, nil
	case <-time.After(10 * time.Millisecond):
	}
	return false, nil
}

func (w *udpWorker) writeFailed(ctx context.Context, err error) {
	if w.t.log.Enabled(ctx, slog.LevelDebug) {
		w.t.log.Debug("udp tracker: write failed", "err", err)
	}
}

// serve answers one packet, if it deserves an answer.
func (w *udpWorker) serve(ctx context.Context, b []byte, from netip.AddrPort) {
	if !from.IsValid() {
		return
	}
	reply := w.reply(ctx, b, from)
	if reply == nil {
		return
	}
	if _, err := w.conn.WriteToUDPAddrPort(reply, from); err != nil {
		w.writeFailed(ctx, err)
	}
}

// reply returns the reply to packet b from `from`, or nil to send none: a
// packet too short for a header, or a connect without the protocol id.
// Nothing but a connect is parsed or answered before its connection ID
// checks out.
func (w *udpWorker) reply(ctx context.Context, b []byte, from netip.AddrPort) []byte {
	r := &w.pkt
	if r.parseHeader(b) != nil {
		return nil
	}
	ip, now := from.Addr().Unmap(), w.t.clock.now()
	if r.action == udpActionConnect {
		if r.connID != udpProtocolID {
			return nil
		}
		return appendUDPConnect(w.out[:0], r.txID, w.ids.issue(now, ip))
	}
	if !w.ids.valid(r.connID, now, ip) {
		return appendUDPError(w.out[:0], r.txID, string(errUDPConnectionID))
	}
	err := r.parseBody(b)
	switch {
	case err != nil:
		return w.failure(ctx, "udp request", err)
	case r.action == udpActionAnnounce:
		return w.announce(ctx, from)
	}
	return w.scrape(ctx)
}

// announce hands the request to the shared logic and writes its reply.
func (w *udpWorker) announce(ctx context.Context, from netip.AddrPort) []byte {
	r, q := &w.pkt, &w.areq
	q.reset()
	w.aresp.reset()
	q.Passkey = w.passkey(udpPasskey(r.urlData, false))
	q.InfoHash, q.PeerID = r.infoHash, r.peerID
	// The peer's address is the packet's source; the BEP 15 ip field is a
	// claim the shared logic trusts only inside campus ranges, as for ip=.
	// The key field is not used.
	q.IP, q.Port = from.Addr().Unmap(), r.port
	if r.ip != 0 {
		q.ClaimedIP = netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(r.ip >> 24), byte(r.ip >> 16), byte(r.ip >> 8), byte(r.ip)}), 0)
	}
	q.Event = r.event
	q.Uploaded, q.Downloaded, q.Left = r.uploaded, r.downloaded, r.left
	q.NumWant = int(r.numWant) // -1 (any negative): the default
	err := w.t.Announce(ctx, q, &w.aresp)
	w.t.CountAnnounce(ProtocolUDP, err)
	if err != nil {
		return w.failure(ctx, "udp announce", err)
	}
	return appendUDPAnnounce(w.out[:0], r.txID, &w.aresp, !q.IP.Is4())
}

// scrape hands the request to the shared logic and writes its reply.
func (w *udpWorker) scrape(ctx context.Context) []byte {
	r := &w.pkt
	w.sreq = ScrapeRequest{Passkey: w.passkey(udpPasskey(r.urlData, true)), InfoHashes: r.infoHashes}
	w.sresp.Files = w.sresp.Files[:0]
	err := w.t.Scrape(ctx, &w.sreq, &w.sresp)
	w.t.CountScrape(ProtocolUDP, err)
	if err != nil {
		return w.failure(ctx, "udp scrape", err)
	}
	return appendUDPScrape(w.out[:0], r.txID, w.sresp.Files)
}

// failure writes an error reply: a ClientError's text, or a generic one for
// anything else, which is logged.
func (w *udpWorker) failure(ctx context.Context, op string, err error) []byte {
	return appendUDPError(w.out[:0], w.pkt.txID, w.t.failureReason(ctx, op, err))
}

// passkey returns b as a string, interning the passkeys Access knows so that
// a steady-state announce does not allocate one. Unknown passkeys are not
// kept: they cannot fill the table.
func (w *udpWorker) passkey(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := w.passkeys[string(b)]; ok {
		return s
	}
	s := string(b)
	if _, known := w.t.access.User(s); known {
		if len(w.passkeys) >= udpPasskeyCache {
			clear(w.passkeys)
		}
		w.passkeys[s] = s
	}
	return s
}
