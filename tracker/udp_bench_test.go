package tracker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
)

// udpBenchPacket is a regular re-announce of libtorrent over UDP: peer of
// torrent, with its passkey as BEP 41 URL data and a connection ID issued by
// ids to its address.
func udpBenchPacket(ids *connIDSigner, now uint32, torrent, peer int) ([]byte, netip.AddrPort) {
	from := netip.AddrPortFrom(benchPeerIP(torrent, peer), 40000)
	req := udpRequest{
		connID: ids.issue(now, from.Addr()), action: udpActionAnnounce, txID: uint32(peer),
		infoHash: benchInfoHash(torrent), peerID: testPeerID(peer),
		uploaded: int64(peer * 1000), downloaded: int64(peer * 500), left: int64(peer % 3),
		key: 0x7c2d3f1a, numWant: 200, port: 51413,
		options: urlOptions(fmt.Sprintf("/announce/passkey%026d", peer%benchUsers)),
	}
	return encodeUDPRequest(&req), from
}

// BenchmarkUDPAnnounce is the UDP frontend's handling of an announce, from
// the received packet to the reply in its buffer (no socket), on 10k
// torrents of 10 peers, in parallel.
func BenchmarkUDPAnnounce(b *testing.B) {
	tr := benchTracker(b)
	key := newConnIDKey()
	ids := newConnIDSigner(key)
	type packet struct {
		b    []byte
		from netip.AddrPort
	}
	pkts := make([]packet, 8192)
	for i := range pkts {
		p, from := udpBenchPacket(ids, tr.clock.now(), rand.IntN(benchTorrents), rand.IntN(benchPeers))
		pkts[i] = packet{p, from}
	}
	if reply := tr.newUDPWorker(nil, key).reply(context.Background(), pkts[0].b, pkts[0].from); reply[3] != byte(udpActionAnnounce) {
		b.Fatalf("reply %q", reply)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := tr.newUDPWorker(nil, key)
		ctx := context.Background()
		for i := rand.IntN(len(pkts)); pb.Next(); i++ {
			p := &pkts[i%len(pkts)]
			w.reply(ctx, p.b, p.from)
		}
	})
}

// BenchmarkUDPAnnounceLoopback is one announce and its reply through a real
// loopback socket, one at a time: the syscalls included.
func BenchmarkUDPAnnounceLoopback(b *testing.B) {
	tr := benchTracker(b)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tr.ServeUDP(ctx, pc)
	conn, err := net.DialUDP("udp4", nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 2048)
	roundTrip := func(p []byte) []byte {
		if _, err := conn.Write(p); err != nil {
			b.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			b.Fatal(err)
		}
		return buf[:n]
	}
	id := roundTrip(encodeUDPRequest(&udpRequest{connID: udpProtocolID}))[8:16]
	pkt, _ := udpBenchPacket(newConnIDSigner(newConnIDKey()), 0, 1, 2)
	copy(pkt, id)
	if reply := roundTrip(pkt); reply[3] != byte(udpActionAnnounce) {
		b.Fatalf("reply %q", reply)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		roundTrip(pkt)
	}
}
