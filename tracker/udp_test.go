package tracker

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/anacrolix/torrent/tracker/shared"
	"github.com/anacrolix/torrent/tracker/udp"
)

// serveUDP runs h's tracker on a new UDP socket of network at addr until
// the test ends, and checks that ServeUDP then returns nil.
func serveUDP(t *testing.T, h *harness, network, addr string) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s socket at %s: %v", network, addr, err)
	}
	return serveUDPOn(t, h, pc)
}

func serveUDPOn(t *testing.T, h *harness, pc net.PacketConn) netip.AddrPort {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.tr.ServeUDP(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeUDP returned %v after its context ended, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeUDP did not return after its context ended")
		}
		pc.Close()
	})
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// rawClient speaks BEP 15 byte by byte, from its own local address.
type rawClient struct {
	t    *testing.T
	conn *net.UDPConn
	tx   uint32
}

func dialRaw(t *testing.T, srv netip.AddrPort, local string) *rawClient {
	t.Helper()
	var laddr *net.UDPAddr
	if local != "" {
		laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(local), 0))
	}
	conn, err := net.DialUDP("udp", laddr, net.UDPAddrFromAddrPort(srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{t: t, conn: conn}
}

// send sends r with a new transaction ID and returns the reply's action and
// body, checking the transaction ID; ok is false when no reply came within
// wait.
func (c *rawClient) send(r udpRequest, wait time.Duration) (action uint32, body []byte, ok bool) {
	c.t.Helper()
	c.tx++
	r.txID = c.tx
	if _, err := c.conn.Write(encodeUDPRequest(&r)); err != nil {
		c.t.Fatal(err)
	}
	buf := make([]byte, 4096)
	c.conn.SetReadDeadline(time.Now().Add(wait))
	n, err := c.conn.Read(buf)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) || isTimeout(err) {
		return 0, nil, false
	} else if err != nil {
		c.t.Fatal(err)
	}
	if n < 8 || binary.BigEndian.Uint32(buf[4:]) != r.txID {
		c.t.Fatalf("reply %x to transaction %d", buf[:n], r.txID)
	}
	return binary.BigEndian.Uint32(buf), buf[8:n], true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// do sends r and returns the body of a reply with the same action.
func (c *rawClient) do(r udpRequest) []byte {
	c.t.Helper()
	action, body, ok := c.send(r, 5*time.Second)
	switch {
	case !ok:
		c.t.Fatalf("no reply to action %d", r.action)
	case action == udpActionError:
		c.t.Fatalf("error reply to action %d: %q", r.action, body)
	case action != r.action:
		c.t.Fatalf("reply action %d to action %d", action, r.action)
	}
	return body
}

// refused sends r and returns the message of its error reply.
func (c *rawClient) refused(r udpRequest) string {
	c.t.Helper()
	action, body, ok := c.send(r, 5*time.Second)
	if !ok || action != udpActionError {
		c.t.Fatalf("reply action %d (%v) to action %d, want an error", action, ok, r.action)
	}
	return string(body)
}

func (c *rawClient) connect() uint64 {
	c.t.Helper()
	body := c.do(udpRequest{connID: udpProtocolID, action: udpActionConnect})
	if len(body) != 8 {
		c.t.Fatalf("connect reply body %x", body)
	}
	return binary.BigEndian.Uint64(body)
}

// announceReq is an announce of peer n for ihOne with the given URL data.
func announceReq(connID uint64, n int, url string) udpRequest {
	return udpRequest{
		connID: connID, action: udpActionAnnounce, infoHash: ihOne, peerID: testPeerID(n),
		left: 100, event: EventStarted, numWant: -1, port: uint16(2000 + n), options: urlOptions(url),
	}
}

// TestUDPAnacrolixClient proves interop with anacrolix's UDP tracker client,
// which sends the announce URL's path as BEP 41 URL data.
func TestUDPAnacrolixClient(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 0, remote: "10.0.0.1", port: 1001})
	h.announce(t, ann{peer: 3, left: 0, remote: "2001:db8::3", port: 1003})
	srv := serveUDP(t, h, "udp4", "127.0.0.1:0")
	cc, err := udp.NewConnClient(udp.NewConnClientOpts{Network: "udp4", Host: srv.String()})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	announce := func(ih [20]byte, uri string) (udp.AnnounceResponseHeader, []string, error) {
		req := udp.AnnounceRequest{InfoHash: ih, PeerId: testPeerID(2), Left: 100, Event: shared.Started, NumWant: -1, Port: 2002}
		hdr, peers, err := cc.Announce(ctx, req, udp.Options{RequestUri: uri})
		if err != nil {
			return hdr, nil, err
		}
		var addrs []string
		for _, na := range peers.NodeAddrs() {
			addrs = append(addrs, na.String())
		}
		return hdr, addrs, nil
	}
	hdr, peers, err := announce(ihOne, "/announce/alice?ignored=1")
	if err != nil {
		t.Fatalf("announce: %v", err)
	}
	if hdr.Seeders != 2 || hdr.Leechers != 1 || hdr.Interval < 1620 || !slices.Equal(peers, []string{"10.0.0.1:1001"}) {
		t.Errorf("reply %+v, peers %v; want 2 seeders, 1 leecher, only the IPv4 seeder", hdr, peers)
	}
	for uri, want := range map[string]string{
		"":                  "missing passkey",
		"/announce/nobody":  "unknown passkey",
		"/announce/mallory": "account disabled",
		"/scrape/alice":     "missing passkey",
	} {
		if _, _, err := announce(ihOne, uri); !isUDPError(err, want) {
			t.Errorf("announce with URL data %q: %v, want %q", uri, err, want)
		}
	}
	if _, _, err := announce(ihStray, "/announce/alice"); !isUDPError(err, string(errNotRegistered)) {
		t.Errorf("announce of an unregistered torrent: %v", err)
	}
	// anacrolix cannot send URL data with a scrape: no passkey.
	if _, err := cc.Client.Scrape(ctx, []udp.InfoHash{ihOne}); !isUDPError(err, "missing passkey") {
		t.Errorf("scrape without URL data: %v", err)
	}
}

func isUDPError(err error, msg string) bool {
	var er udp.ErrorResponse
	return errors.As(err, &er) && er.Message == msg
}

func TestUDPScrape(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 0})
	h.announce(t, ann{peer: 2, left: 5, event: "completed"})
	h.announce(t, ann{peer: 3, ih: ihTwo, left: 5})
	c := dialRaw(t, serveUDP(t, h, "udp4", "127.0.0.1:0"), "")
	id := c.connect()
	req := udpRequest{connID: id, action: udpActionScrape, infoHashes: [][20]byte{ihOne, ihStray, ihTwo}}
	want := []uint32{1, 1, 1, 0, 0, 0, 0, 0, 1} // seeders, completed, leechers per hash
	for _, url := range []string{"/scrape/alice", "/announce/alice", "/announce/alice?x=1"} {
		req.options = urlOptions(url)
		body := c.do(req)
		var got []uint32
		for i := 0; i+4 <= len(body); i += 4 {
			got = append(got, binary.BigEndian.Uint32(body[i:]))
		}
		if !slices.Equal(got, want) || len(body)%4 != 0 {
			t.Errorf("scrape with %q: %v, want %v", url, got, want)
		}
	}
	for url, msg := range map[string]string{"": "missing passkey", "/scrape/nobody": "unknown passkey"} {
		req.options = urlOptions(url)
		if got := c.refused(req); got != msg {
			t.Errorf("scrape with %q: %q, want %q", url, got, msg)
		}
	}
}

func TestUDPIPv6PeersForIPv6Requests(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 0, remote: "10.0.0.1", port: 1001})
	h.announce(t, ann{peer: 3, left: 0, remote: "2001:db8::3", port: 1003})
	c := dialRaw(t, serveUDP(t, h, "udp6", "[::1]:0"), "")
	body := c.do(announceReq(c.connect(), 2, "/announce/alice"))
	want := netip.MustParseAddrPort("[2001:db8::3]:1003")
	if len(body) != 12+18 || netip.AddrFrom16([16]byte(body[12:28])) != want.Addr() ||
		binary.BigEndian.Uint16(body[28:]) != want.Port() {
		t.Errorf("IPv6 announce reply %x, want the one IPv6 peer %v", body, want)
	}
}
