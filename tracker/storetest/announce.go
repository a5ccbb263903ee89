package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/seedbed/seedbed/tracker"
)

// The cases of Run on PeerStore.Announce: the announce in one call, and the
// accounting baselines it keeps next to the peers.

const (
	ownerA = 7
	ownerB = 8
)

// op is an announce of peer n (IPv4, and IPv6 too when both) by owner
// with counters up and down at time now.
type op struct {
	n        int
	v6, both bool
	seeder   bool
	owner    uint64
	up, down int64
	now      uint32
	stopped  bool
	snatch   bool
	regular  bool
	minIvl   uint32
	numWant  int
}

func (o op) announce() *tracker.StoreAnnounce {
	self := []tracker.Peer{storePeer(o.n, o.seeder, o.v6)}
	if o.both {
		self = append(self, storePeer(o.n, o.seeder, true))
	}
	for i := range self {
		self[i].LastSeen = o.now
	}
	return &tracker.StoreAnnounce{
		Self: self, Stopped: o.stopped, Snatch: o.snatch, Owner: o.owner,
		Base:        tracker.Baseline{Uploaded: o.up, Downloaded: o.down, Seen: o.now, Seeder: o.seeder},
		MinInterval: o.minIvl, Regular: o.regular,
		Requester: storeLAN.Requester(self), NumWant: o.numWant,
	}
}

func mustAnnounce(t *testing.T, s tracker.PeerStore, ih [20]byte, o op) ([]tracker.Peer, tracker.AnnounceResult) {
	t.Helper()
	peers, res, err := s.Announce(context.Background(), ih, o.announce(), nil)
	if err != nil {
		t.Fatalf("Announce: %v", err)
	}
	return peers, res
}

// wantPrev checks the baseline an announce replaced.
func wantPrev(t *testing.T, what string, res tracker.AnnounceResult, want tracker.Baseline) {
	t.Helper()
	if !res.Known || res.Prev != want || res.Early {
		t.Errorf("%s: baseline %+v known %v early %v, want %+v", what, res.Prev, res.Known, res.Early, want)
	}
}

func wantNoPrev(t *testing.T, what string, res tracker.AnnounceResult) {
	t.Helper()
	if res.Known {
		t.Errorf("%s: baseline %+v, want none", what, res.Prev)
	}
}

// announcePeersAndCounts: Announce puts the requester, hands out the
// others ranked as AppendPeers does, and counts the swarm after the change.
func announcePeersAndCounts(t *testing.T, s tracker.PeerStore) {
	mustPut(t, s, ihOne, storePeer(1, true, false), storePeer(2, false, false))
	peers, res := mustAnnounce(t, s, ihOne, op{n: 9, owner: ownerA, now: 1000, numWant: 10})
	if !slices.Equal(ids(peers), []int{1, 2}) {
		t.Errorf("peers %v, want seeder 1 then leecher 2, never the requester", ids(peers))
	}
	if res.Counts != (tracker.SwarmCounts{Seeders: 1, Leechers: 2}) {
		t.Errorf("counts %+v, want the requester counted", res.Counts)
	}
	wantNoPrev(t, "first announce", res)
	peers, res = mustAnnounce(t, s, ihOne, op{n: 9, seeder: true, owner: ownerA, now: 1001, numWant: 10})
	if !slices.Equal(ids(peers), []int{2}) || res.Counts != (tracker.SwarmCounts{Seeders: 2, Leechers: 1}) {
		t.Errorf("as a seeder: peers %v counts %+v, want leecher 2 only, 2 seeders", ids(peers), res.Counts)
	}
	peers, res = mustAnnounce(t, s, ihOne, op{n: 9, seeder: true, owner: ownerA, now: 1002, stopped: true})
	if len(peers) != 0 || res.Counts != (tracker.SwarmCounts{Seeders: 1, Leechers: 1}) {
		t.Errorf("stopped: peers %v counts %+v, want none and the requester gone", ids(peers), res.Counts)
	}
	if _, _, err := s.Announce(context.Background(), ihOne, &tracker.StoreAnnounce{}, nil); err == nil {
		t.Error("an announce without entries was accepted")
	}
}

// announceBaselines: each announce returns the baseline the one before set.
func announceBaselines(t *testing.T, s tracker.PeerStore) {
	_, res := mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 10, down: 20, now: 1000})
	wantNoPrev(t, "first announce", res)
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 15, down: 25, now: 1060, regular: true})
	wantPrev(t, "second announce", res, tracker.Baseline{Uploaded: 10, Downloaded: 20, Seen: 1000})
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, seeder: true, owner: ownerA, up: 3, down: 4, now: 1120})
	wantPrev(t, "third announce", res, tracker.Baseline{Uploaded: 15, Downloaded: 25, Seen: 1060})
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, seeder: true, owner: ownerA, now: 1180})
	wantPrev(t, "fourth announce", res, tracker.Baseline{Uploaded: 3, Downloaded: 4, Seen: 1120, Seeder: true})
	// Baselines are per torrent and per peer_id.
	_, res = mustAnnounce(t, s, ihTwo, op{n: 1, owner: ownerA, now: 1200})
	wantNoPrev(t, "other torrent", res)
	_, res = mustAnnounce(t, s, ihOne, op{n: 2, owner: ownerA, now: 1200})
	wantNoPrev(t, "other peer", res)
	// Counters up to the cap are kept exactly.
	top := int64(tracker.MaxBaselineCounter)
	mustAnnounce(t, s, ihOne, op{n: 3, owner: ownerA, up: top, down: top - 1, now: 1300})
	_, res = mustAnnounce(t, s, ihOne, op{n: 3, owner: ownerA, now: 1301})
	wantPrev(t, "largest counters", res, tracker.Baseline{Uploaded: top, Downloaded: top - 1, Seen: 1300})
}

// announceOwners: a baseline belongs to its user; another user's peer with
// the same peer_id (or one without accounting) does not see it.
func announceOwners(t *testing.T, s tracker.PeerStore) {
	mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 10, now: 1000})
	_, res := mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerB, up: 50, now: 1010})
	wantNoPrev(t, "another user", res)
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerB, up: 60, now: 1020})
	wantPrev(t, "the other user again", res, tracker.Baseline{Uploaded: 50, Seen: 1010})
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, owner: 0, up: 70, now: 1030})
	wantNoPrev(t, "no owner", res)
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerB, up: 80, now: 1040})
	wantNoPrev(t, "after an announce without owner", res)
	// A peer put without an announce has no baseline.
	mustPut(t, s, ihOne, storePeer(2, false, false))
	_, res = mustAnnounce(t, s, ihOne, op{n: 2, owner: ownerA, now: 1050})
	wantNoPrev(t, "put without announce", res)
}

// announceEarly: a regular announce within the min interval keeps the
// baseline; an announce with an event or on time moves it.
func announceEarly(t *testing.T, s tracker.PeerStore) {
	first := tracker.Baseline{Uploaded: 10, Seen: 1000}
	mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 10, now: 1000})
	_, res := mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 20, now: 1010, regular: true, minIvl: 30})
	if !res.Early || !res.Known || res.Prev != first {
		t.Errorf("early announce: %+v, want early with the first baseline", res)
	}
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 30, now: 1020, regular: true, minIvl: 30})
	if !res.Early || res.Prev != first {
		t.Errorf("second early announce: %+v, want the first baseline kept", res)
	}
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 40, now: 1030, regular: true, minIvl: 30})
	wantPrev(t, "on time", res, first)
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, seeder: true, owner: ownerA, up: 50, now: 1031, minIvl: 30, snatch: true})
	wantPrev(t, "event within the min interval", res, tracker.Baseline{Uploaded: 40, Seen: 1030})
	if c := mustCounts(t, s, ihOne); c != (tracker.SwarmCounts{Seeders: 1, Completed: 1}) {
		t.Errorf("counts %+v: the early announces must still refresh the peer", c)
	}
}

// announceStopped: stopped returns the last baseline and drops it with the
// peer; the next session starts without one.
func announceStopped(t *testing.T, s tracker.PeerStore) {
	mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 10, now: 1000})
	_, res := mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 12, now: 1010, stopped: true})
	wantPrev(t, "stopped", res, tracker.Baseline{Uploaded: 10, Seen: 1000})
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, now: 1020})
	wantNoPrev(t, "after stopped", res)
	// Stopping a peer never seen is no error and has no baseline.
	_, res = mustAnnounce(t, s, ihOne, op{n: 2, owner: ownerA, now: 1020, stopped: true})
	wantNoPrev(t, "stopped unknown peer", res)
	if c := mustCounts(t, s, ihOne); c.Leechers != 1 {
		t.Errorf("counts %+v, want peer 1 only", c)
	}
}

// announceFamilies: one baseline per peer_id, whatever families it
// announces with, for as long as one of its entries is in the swarm.
func announceFamilies(t *testing.T, s tracker.PeerStore) {
	mustAnnounce(t, s, ihOne, op{n: 1, both: true, owner: ownerA, up: 10, now: 1000})
	_, res := mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 20, now: 1010})
	wantPrev(t, "IPv4 alone after both", res, tracker.Baseline{Uploaded: 10, Seen: 1000})
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, v6: true, owner: ownerA, up: 30, now: 1020})
	wantPrev(t, "IPv6 alone after IPv4", res, tracker.Baseline{Uploaded: 20, Seen: 1010})
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 40, now: 1030, stopped: true})
	wantPrev(t, "IPv4 stopped", res, tracker.Baseline{Uploaded: 30, Seen: 1020})
	if c := mustCounts(t, s, ihOne); c.Leechers != 1 {
		t.Errorf("counts %+v, want the IPv6 entry left", c)
	}
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, v6: true, owner: ownerA, up: 45, now: 1040})
	wantPrev(t, "IPv6 after IPv4 stopped", res, tracker.Baseline{Uploaded: 40, Seen: 1030})
}

// announceExpiry: an expired peer's baseline goes with it.
func announceExpiry(t *testing.T, s tracker.PeerStore) {
	mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 10, now: 1000})
	mustAnnounce(t, s, ihOne, op{n: 2, owner: ownerA, up: 10, now: 2000})
	if n, err := s.RemoveExpired(context.Background(), 1500); err != nil || n != 1 {
		t.Fatalf("RemoveExpired: %d %v, want 1", n, err)
	}
	_, res := mustAnnounce(t, s, ihOne, op{n: 1, owner: ownerA, up: 20, now: 2010})
	wantNoPrev(t, "expired peer", res)
	_, res = mustAnnounce(t, s, ihOne, op{n: 2, owner: ownerA, up: 20, now: 2010})
	wantPrev(t, "peer on time", res, tracker.Baseline{Uploaded: 10, Seen: 2000})
}

// announceSnatch: a completion counts once per peer_id.
func announceSnatch(t *testing.T, s tracker.PeerStore) {
	_, res := mustAnnounce(t, s, ihOne, op{n: 1, seeder: true, now: 1000, snatch: true})
	if !res.FirstSnatch || res.Counts.Completed != 1 {
		t.Errorf("first completion: %+v", res)
	}
	_, res = mustAnnounce(t, s, ihOne, op{n: 1, seeder: true, now: 1001, snatch: true})
	if res.FirstSnatch || res.Counts.Completed != 1 {
		t.Errorf("second completion of the same peer_id: %+v", res)
	}
	if first, err := s.Snatch(context.Background(), ihOne, testPeerID(1)); err != nil || first {
		t.Errorf("Snatch after the announce's: %v %v, want not first", first, err)
	}
}

// announceConcurrent: announces of many goroutines to one swarm chain their
// baselines exactly: every announce of a peer returns the one before.
func announceConcurrent(t *testing.T, s tracker.PeerStore) {
	const peers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan string, peers)
	for n := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last int64 = -1
			for i := range int64(rounds) {
				o := op{n: n, owner: ownerA, up: i * 100, now: 1000 + uint32(i), numWant: 5}
				_, res, err := s.Announce(context.Background(), ihOne, o.announce(), nil)
				switch {
				case err != nil:
					errs <- err.Error()
					return
				case last >= 0 && (!res.Known || res.Prev.Uploaded != last):
					errs <- "a baseline was lost or mixed up"
					return
				}
				last = i * 100
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if c := mustCounts(t, s, ihOne); c.Leechers != peers {
		t.Errorf("counts %+v, want %d leechers", c, peers)
	}
}
