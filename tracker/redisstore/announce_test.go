package redisstore

import (
	"context"
	"slices"
	"testing"

	"github.com/seedbed/seedbed/tracker"
)

// TestAnnounceOneTrip: Announce does what PutPeer per entry, AppendPeers
// and Counts do, in one command.
func TestAnnounceOneTrip(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	var sent commandCounter
	c.AddHook(&sent)
	s := New(c, Options{})
	if err := s.loadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	seeders := []tracker.Peer{testPeer(1, "10.0.0.1", true, 100), testPeer(2, "10.0.0.2", true, 100)}
	leecher := testPeer(3, "10.0.0.3", false, 100)
	mustPut(t, s, ihA, append(seeders, leecher)...)
	if _, err := s.Snatch(ctx, ihA, seeders[0].ID); err != nil {
		t.Fatal(err)
	}
	lan, err := tracker.NewLAN(tracker.LANConfig{})
	if err != nil {
		t.Fatal(err)
	}
	self := []tracker.Peer{testPeer(9, "192.0.2.9", false, 200), testPeer(9, "2001:db8::9", false, 200)}
	r := lan.Requester(self)

	before := sent.n.Load()
	got, counts, err := s.Announce(ctx, ihA, self, false, r, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := sent.n.Load() - before; n != 1 {
		t.Errorf("Announce sent %d commands, want 1", n)
	}
	if want := (tracker.SwarmCounts{Seeders: 2, Leechers: 3, Completed: 1}); counts != want {
		t.Errorf("counts %+v, want %+v (with both new entries)", counts, want)
	}
	if len(got) != 3 || !got[0].Seeder || !got[1].Seeder || got[2] != leecher {
		t.Errorf("peers %+v, want the two seeders, then the other leecher, never the requester", got)
	}
	if tot, _ := s.Totals(ctx); tot != (tracker.StoreTotals{Swarms: 1, Seeders: 2, Leechers: 3}) {
		t.Errorf("totals %+v", tot)
	}

	// A seeder's re-announce moves its entries and gets only leechers.
	for i := range self {
		self[i].Seeder = true
	}
	got, counts, err = s.Announce(ctx, ihA, self, false, lan.Requester(self), 10, nil)
	if err != nil || !slices.Equal(got, []tracker.Peer{leecher}) || counts != (tracker.SwarmCounts{Seeders: 4, Leechers: 1, Completed: 1}) {
		t.Errorf("seeder got %+v %+v %v, want the one leecher, 4 seeders", got, counts, err)
	}

	// Stopped: the entries go, no peers are handed out.
	got, counts, err = s.Announce(ctx, ihA, self, true, lan.Requester(self), 0, nil)
	if err != nil || len(got) != 0 || counts != (tracker.SwarmCounts{Seeders: 2, Leechers: 1, Completed: 1}) {
		t.Errorf("stopped: %+v %+v %v, want no peers and the entries gone", got, counts, err)
	}
	if n := s.client.ZCard(ctx, s.expiryKey).Val(); n != 3 {
		t.Errorf("expiry index holds %d peers, want 3", n)
	}
	if _, _, err := s.Announce(ctx, ihA, make([]tracker.Peer, 3), false, r, 10, nil); err == nil {
		t.Error("three entries accepted")
	}
}
