package tracker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUDPConnectionIDs(t *testing.T) {
	h := newHarness(t, Options{})
	srv := serveUDP(t, h, "udp4", "127.0.0.1:0")
	c := dialRaw(t, srv, "127.0.0.2")
	if got := c.refused(announceReq(0xdeadbeef, 1, "/announce/alice")); got != string(errUDPConnectionID) {
		t.Errorf("made-up connection id: %q", got)
	}
	id := c.connect()
	c.do(announceReq(id, 1, "/announce/alice"))
	if other := dialRaw(t, srv, "127.0.0.3"); other.refused(announceReq(id, 2, "/announce/alice")) != string(errUDPConnectionID) {
		t.Error("a connection id worked from another address")
	}
	h.advance(connIDWindow * time.Second)
	c.do(announceReq(id, 1, "/announce/alice")) // previous window: still valid
	h.advance(connIDWindow * time.Second)
	if got := c.refused(announceReq(id, 1, "/announce/alice")); got != string(errUDPConnectionID) {
		t.Errorf("connection id two windows old: %q, want it refused", got)
	}
	if id2 := c.connect(); id2 == id {
		t.Error("the connection id did not change with the window")
	}
}

func TestUDPRequestErrors(t *testing.T) {
	h := newHarness(t, Options{})
	c := dialRaw(t, serveUDP(t, h, "udp4", "127.0.0.1:0"), "")
	id := c.connect()
	unknown := announceReq(id, 1, "")
	unknown.action = 7
	badOptions := announceReq(id, 1, "")
	badOptions.options = []byte{2, 200, '/'}
	badEvent := announceReq(id, 1, "/announce/alice")
	badEvent.event = 4
	portZero := announceReq(id, 1, "/announce/alice")
	portZero.port = 0
	for _, tc := range []struct {
		req  udpRequest
		want ClientError
	}{
		{unknown, errUDPUnknownAction},
		{badOptions, errUDPBadOptions},
		{badEvent, errInvalidEvent},
		{portZero, errInvalidPort},
		{udpRequest{connID: id, action: udpActionScrape}, errMissingInfoHash},
	} {
		if got := c.refused(tc.req); got != string(tc.want) {
			t.Errorf("request %+v: %q, want %q", tc.req, got, tc.want)
		}
	}
	// An announce too short for its fields.
	c.tx++
	req := announceReq(id, 1, "")
	req.txID = c.tx
	c.conn.Write(encodeUDPRequest(&req)[:60])
	buf := make([]byte, 100)
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.conn.Read(buf); err != nil || string(buf[8:n]) != string(errUDPShortRequest) {
		t.Errorf("short announce: %q %v", buf[:n], err)
	}
	// Not BEP 15 at all: no reply.
	if _, _, ok := c.send(udpRequest{connID: 12345, action: udpActionConnect}, 300*time.Millisecond); ok {
		t.Error("a connect without the protocol id was answered")
	}
	c.conn.Write([]byte("hello"))
	c.do(udpRequest{connID: udpProtocolID, action: udpActionConnect}) // still serving
}

// syncBuffer is a log sink safe for the reader goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestUDPInternalErrorsAreNotShown(t *testing.T) {
	var logs syncBuffer
	access := NewAccess()
	access.PutUser("alice", User{ID: 1})
	access.Allow(ihOne, 1)
	h := &harness{tr: New(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, access, &brokenStore{NewMemoryStore(1)}, nil)}
	c := dialRaw(t, serveUDP(t, h, "udp4", "127.0.0.1:0"), "")
	if got := c.refused(announceReq(c.connect(), 1, "/announce/alice")); got != string(errInternal) {
		t.Errorf("error message %q, want the generic one", got)
	}
	if !strings.Contains(logs.String(), "store down") || !strings.Contains(logs.String(), "udp announce") {
		t.Errorf("the cause was not logged: %q", logs.String())
	}
}

// TestUDPAnnounceIsAccounted: the UDP frontend goes through the shared
// logic, accounting included.
func TestUDPAnnounceIsAccounted(t *testing.T) {
	h := newHarness(t, Options{})
	c := dialRaw(t, serveUDP(t, h, "udp4", "127.0.0.1:0"), "")
	id := c.connect()
	req := announceReq(id, 1, "/announce/alice")
	c.do(req)
	req.event, req.uploaded, req.downloaded = EventNone, 700, 300
	c.do(req)
	want := []StatDelta{{UserID: userAlice, TorrentID: torrentOne, InfoHash: ihOne, Uploaded: 700, Downloaded: 300}}
	if d := h.flushed(t); !slices.Equal(d, want) {
		t.Errorf("deltas %+v, want %+v", d, want)
	}
	req.event = EventStopped
	if body := c.do(req); len(body) != 12 {
		t.Errorf("stopped: reply body %x, want no peers", body)
	}
	if n := h.tr.Counts(ihOne); n.Leechers != 0 {
		t.Errorf("after stopped: %+v", n)
	}
}

// TestUDPAnyPacketConn: ServeUDP works on a net.PacketConn that is not a
// *net.UDPConn, and returns an error when its socket is closed under it.
func TestUDPAnyPacketConn(t *testing.T) {
	h := newHarness(t, Options{})
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wrapped := struct{ net.PacketConn }{pc}
	done := make(chan error, 1)
	go func() { done <- h.tr.ServeUDP(context.Background(), wrapped) }()
	c := dialRaw(t, netip.MustParseAddrPort(pc.LocalAddr().String()), "")
	if body := c.do(announceReq(c.connect(), 1, "/announce/alice")); len(body) != 12 {
		t.Errorf("reply body %x", body)
	}
	pc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ServeUDP on a closed socket: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeUDP did not return when its socket was closed")
	}
}

func TestUDPReplyFitsOnePacket(t *testing.T) {
	var resp AnnounceResponse
	for i := range 300 {
		resp.Peers = append(resp.Peers, NewPeer(testPeerID(i), netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 1, 15: byte(i)}), 1), true, 0))
		resp.Peers = append(resp.Peers, NewPeer(testPeerID(i), netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), 1), true, 0))
	}
	for _, v6 := range []bool{false, true} {
		b := appendUDPAnnounce(nil, 1, &resp, v6)
		size := map[bool]int{false: 6, true: 18}[v6]
		if len(b) > udpMaxReply || (len(b)-20)%size != 0 || udpMaxReply-len(b) >= size {
			t.Errorf("v6=%v: reply of %d bytes, want as many peers as fit in %d", v6, len(b), udpMaxReply)
		}
	}
}

func TestUDPAnnounceDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	h := newHarness(t, Options{})
	for i := 1; i <= 20; i++ {
		h.announce(t, ann{peer: i, left: int64(i % 2)})
	}
	w := h.tr.newUDPWorker(nil, newConnIDKey())
	from := netip.MustParseAddrPort("10.0.0.1:40000")
	req := announceReq(w.ids.issue(h.tr.clock.now(), from.Addr()), 1, "/announce/alice")
	req.event, req.numWant = EventNone, 200
	pkt := encodeUDPRequest(&req)
	ctx := context.Background()
	if reply := w.reply(ctx, pkt, from); len(reply) != 20+6*19 {
		t.Fatalf("reply %x", reply)
	}
	if allocs := testing.AllocsPerRun(1000, func() { w.reply(ctx, pkt, from) }); allocs > 0 {
		t.Errorf("a UDP announce allocates %v times, want 0", allocs)
	}
}
