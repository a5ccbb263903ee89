package redisstore

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/seedbed/seedbed/tracker"
)

// TestAnnounceOneTrip: Announce does what PutPeer per entry, Snatch,
// AppendPeers and Counts do, and moves the baseline, in one command.
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
	a := &tracker.StoreAnnounce{Self: self, Owner: 5, Base: tracker.Baseline{Uploaded: 10, Seen: 200},
		Requester: lan.Requester(self), NumWant: 10}

	before := sent.n.Load()
	got, res, err := s.Announce(ctx, ihA, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := sent.n.Load() - before; n != 1 {
		t.Errorf("Announce sent %d commands, want 1", n)
	}
	if want := (tracker.SwarmCounts{Seeders: 2, Leechers: 3, Completed: 1}); res.Counts != want || res.Known {
		t.Errorf("result %+v, want counts %+v (with both new entries) and no baseline", res, want)
	}
	if len(got) != 3 || !got[0].Seeder || !got[1].Seeder || got[2] != leecher {
		t.Errorf("peers %+v, want the two seeders, then the other leecher, never the requester", got)
	}
	if tot, _ := s.Totals(ctx); tot != (tracker.StoreTotals{Swarms: 1, Seeders: 2, Leechers: 3}) {
		t.Errorf("totals %+v", tot)
	}
	if v := c.HGet(ctx, s.keys(&ihA).baselines, string(self[0].ID[:])).Val(); v != "5 10 0 200 0" {
		t.Errorf("baseline %q, want owner, counters, time and seeder flag", v)
	}

	// A seeder's completion moves its entries, counts a snatch and gets
	// only leechers.
	for i := range self {
		self[i].Seeder, self[i].LastSeen = true, 210
	}
	a = &tracker.StoreAnnounce{Self: self, Owner: 5, Snatch: true, Base: tracker.Baseline{Uploaded: 20, Seen: 210, Seeder: true},
		Requester: lan.Requester(self), NumWant: 10}
	got, res, err = s.Announce(ctx, ihA, a, nil)
	if err != nil || !slices.Equal(got, []tracker.Peer{leecher}) || res.Counts != (tracker.SwarmCounts{Seeders: 4, Leechers: 1, Completed: 2}) {
		t.Errorf("seeder got %+v %+v %v, want the one leecher, 4 seeders, 2 snatches", got, res, err)
	}
	if !res.FirstSnatch || !res.Known || res.Prev != (tracker.Baseline{Uploaded: 10, Seen: 200}) {
		t.Errorf("result %+v, want a first snatch and the first baseline", res)
	}

	// Stopped: the entries go with the baseline, no peers are handed out.
	a = &tracker.StoreAnnounce{Self: self, Stopped: true, Owner: 5, Base: tracker.Baseline{Uploaded: 30, Seen: 220},
		Requester: lan.Requester(self)}
	got, res, err = s.Announce(ctx, ihA, a, nil)
	if err != nil || len(got) != 0 || res.Counts != (tracker.SwarmCounts{Seeders: 2, Leechers: 1, Completed: 2}) {
		t.Errorf("stopped: %+v %+v %v, want no peers and the entries gone", got, res, err)
	}
	if n := s.client.ZCard(ctx, s.expiryKey).Val(); n != 3 {
		t.Errorf("expiry index holds %d peers, want 3", n)
	}
	if n := c.HLen(ctx, s.keys(&ihA).baselines).Val(); n != 0 {
		t.Errorf("%d baselines left after stopped", n)
	}
	// After Redis lost its script cache (a restart), Announce runs the
	// script again by EVAL.
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	a.Stopped = false
	if got, res, err = s.Announce(ctx, ihA, a, nil); err != nil || res.Counts.Seeders != 4 {
		t.Errorf("after SCRIPT FLUSH: %+v %+v %v", got, res, err)
	}
	a.Self = make([]tracker.Peer, 3)
	if _, _, err := s.Announce(ctx, ihA, a, nil); err == nil {
		t.Error("three entries accepted")
	}
}

// memorySink sums what a tracker flushes per user.
type memorySink struct {
	mu   sync.Mutex
	sums map[uint64]tracker.StatDelta
}

func (m *memorySink) Flush(_ context.Context, deltas []tracker.StatDelta) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range deltas {
		s := m.sums[d.UserID]
		s.Uploaded += d.Uploaded
		s.Downloaded += d.Downloaded
		s.SeedingSeconds += d.SeedingSeconds
		if d.Completed {
			s.TorrentID++ // counts snatches
		}
		m.sums[d.UserID] = s
	}
	return nil
}

// TestAccountingAcrossNodes: two trackers (two nodes) on two Stores of one
// Redis; one client announces to them in turn, another to both at once.
// What the nodes flush adds up exactly: every delta is credited once, by
// whichever node got the announce.
func TestAccountingAcrossNodes(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	oc := redis.NewClient(c.Options())
	t.Cleanup(func() { oc.Close() })
	access := tracker.NewAccess()
	access.PutUser("alice", tracker.User{ID: 1})
	access.PutUser("bob", tracker.User{ID: 2})
	access.Allow(ihA, 11)
	sinks := []*memorySink{{sums: map[uint64]tracker.StatDelta{}}, {sums: map[uint64]tracker.StatDelta{}}}
	var nodes []*tracker.Tracker
	for i, cl := range []*redis.Client{c, oc} {
		s := New(cl, Options{Prefix: "acct:"})
		if err := s.loadScripts(ctx); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, tracker.New(tracker.Options{Logger: slog.New(slog.DiscardHandler)}, access, s, sinks[i]))
	}
	announce := func(node int, passkey string, peer byte, up, down, left int64, event tracker.Event) {
		t.Helper()
		req := tracker.AnnounceRequest{Passkey: passkey, InfoHash: ihA, PeerID: [20]byte{'-', 'T', 'R', peer},
			IP: netip.AddrFrom4([4]byte{10, 0, 0, peer}), Port: 6881, Uploaded: up, Downloaded: down, Left: left,
			Event: event, NumWant: 5}
		var resp tracker.AnnounceResponse
		if err := nodes[node].Announce(ctx, &req, &resp); err != nil {
			t.Fatal(err)
		}
	}
	const big = 1 << 40
	announce(0, "alice", 1, 0, 0, 100, tracker.EventStarted) // baseline only
	announce(1, "alice", 1, 100, 40, 60, tracker.EventNone)  // the other node credits the delta
	announce(0, "alice", 1, 150, 100, 0, tracker.EventCompleted)
	announce(1, "alice", 1, 10, 0, 0, tracker.EventNone) // client restart: no credit
	announce(0, "alice", 1, big, 0, 0, tracker.EventNone)
	announce(1, "alice", 1, big+5, 0, 0, tracker.EventStopped)
	announce(0, "alice", 1, big+50, 0, 0, tracker.EventStarted) // a new session: baseline only
	var wg sync.WaitGroup
	const bobPeers, rounds = 4, 40
	for n := range byte(bobPeers) {
		wg.Add(1)
		go func() { // bob's clients, at once, each to either node in turn
			defer wg.Done()
			for i := range int64(rounds) {
				req := tracker.AnnounceRequest{Passkey: "bob", InfoHash: ihA, PeerID: [20]byte{'-', 'B', 'O', 'B', n},
					IP: netip.AddrFrom4([4]byte{10, 0, 1, n}), Port: 6881, Uploaded: 10 * i, Downloaded: i, Left: 1, NumWant: 5}
				var resp tracker.AnnounceResponse
				if err := nodes[(i*int64(n+1)/3)%2].Announce(ctx, &req, &resp); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, tr := range nodes {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := tr.Serve(ctx); err != nil { // flushes once and returns
			t.Fatalf("node %d: %v", i+1, err)
		}
	}
	total := map[uint64]tracker.StatDelta{}
	for _, s := range sinks {
		for u, d := range s.sums {
			t := total[u]
			t.Uploaded += d.Uploaded
			t.Downloaded += d.Downloaded
			t.TorrentID += d.TorrentID
			total[u] = t
		}
	}
	if a := total[1]; a.Uploaded != 100+50+(big-10)+5 || a.Downloaded != 100 || a.TorrentID != 1 {
		t.Errorf("alice credited %+v, want every delta once and one snatch", a)
	}
	if b := total[2]; b.Uploaded != bobPeers*10*(rounds-1) || b.Downloaded != bobPeers*(rounds-1) {
		t.Errorf("bob credited %+v, want %d up and %d down", b, bobPeers*10*(rounds-1), bobPeers*(rounds-1))
	}
}
