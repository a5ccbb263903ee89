package udpload

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/seedbed/seedbed/tracker"
)

// startTracker runs Seedbed's UDP tracker on loopback with torrents and
// passkeys, and returns its address and the tracker.
func startTracker(t *testing.T, ihs [][20]byte, passkeys []string) (string, *tracker.Tracker) {
	t.Helper()
	access := tracker.NewAccess()
	for i, pk := range passkeys {
		access.PutUser(pk, tracker.User{ID: uint64(i + 1)})
	}
	for i, ih := range ihs {
		access.Allow(ih, uint64(i+1))
	}
	tr := tracker.New(tracker.Options{Logger: slog.New(slog.DiscardHandler)}, access, tracker.NewMemoryStore(0), nil)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = tr.ServeUDP(ctx, pc) }()
	t.Cleanup(func() { cancel(); <-done; pc.Close() })
	return pc.LocalAddr().String(), tr
}

func testHashes(n int) [][20]byte {
	ihs := make([][20]byte, n)
	for i := range ihs {
		copy(ihs[i][:], fmt.Sprintf("bench-torrent-%06d", i))
	}
	return ihs
}

func TestFillThenLoad(t *testing.T) {
	ihs := testHashes(50)
	passkeys := []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}
	addr, tr := startTracker(t, ihs, passkeys)
	res, err := Run(context.Background(), Options{Addr: addr, InfoHashes: ihs, Passkeys: passkeys,
		Fill: 500, Sockets: 2, Window: 8, Duration: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 500 || res.Invalid != 0 {
		t.Fatalf("fill: %+v", res)
	}
	for _, ih := range ihs {
		if c := tr.Counts(ih); c.Seeders+c.Leechers != 10 {
			t.Fatalf("torrent %x has %d peers after the fill, want 10", ih, c.Seeders+c.Leechers)
		}
	}
	res, err = Run(context.Background(), Options{Addr: addr, InfoHashes: ihs, Passkeys: passkeys,
		Requests: 2000, Sockets: 2, Window: 16, Duration: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK+res.Lost != 2000 || res.Invalid != 0 || res.OK == 0 || res.Peers == 0 {
		t.Fatalf("load: %+v", res)
	}
	if p99 := res.Latency(0.99); p99 <= 0 || p99 > time.Second {
		t.Errorf("p99 %v", p99)
	}
}

// TestInvalidRepliesAreCounted: announces of an unknown passkey get error
// replies, which count as invalid, never as valid peer lists.
func TestInvalidRepliesAreCounted(t *testing.T) {
	ihs := testHashes(5)
	addr, _ := startTracker(t, ihs, []string{"0123456789abcdef0123456789abcdef"})
	res, err := Run(context.Background(), Options{Addr: addr, InfoHashes: ihs, Passkeys: []string{"not-a-known-passkey"},
		Requests: 100, Sockets: 1, Window: 4, Duration: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 0 || res.Invalid+res.Lost != 100 || res.FirstErr == "" {
		t.Fatalf("%+v", res)
	}
}
