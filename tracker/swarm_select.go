package tracker

import (
	"math/rand/v2"
	"slices"
)

// tierCache is the longest list whose tiers the first pass remembers for
// the second; longer lists are ranked twice.
const tierCache = 128

// notEligible marks the requester itself in the tier cache.
const notEligible = 0xff

// selection plans, then fills, the peers a swarm hands to one requester,
// ranked LAN first. Two passes over the swarm and no heap memory: the first
// counts the eligible peers of each list and tier, the second writes each
// chosen peer straight into its slot of the reply.
type selection struct {
	r     *Requester
	lists []int            // the lists drawn from, in rank order within a tier
	start [2]int           // a random start per list: every peer gets its turn
	n     [2][NumTiers]int // eligible peers per list and tier; after plan, how many to take
	off   [2][NumTiers]int // where the next peer of a list and tier goes
	box   int              // position of a seedbox in the seeders list, or -1
	tiers [2][tierCache]uint8
}

var (
	leecherDraws = []int{seeders, leechers} // a leecher: seeders first
	seederDraws  = []int{leechers}          // a seeder: leechers only
)

// appendFor appends up to n peers for r to dst: best tier first; within a
// tier seeders first for a leecher, only leechers for a seeder; never a
// peer with r's ID. A leecher always gets a seedbox seeder when the swarm
// has one, the source of last resort: when none made the cut, one takes the
// last slot.
func (sw *swarm) appendFor(dst []Peer, r *Requester, n int) []Peer {
	if n <= 0 || sw.len() == 0 {
		return dst
	}
	s := selection{r: r, lists: leecherDraws, box: -1}
	if r.Seeder {
		s.lists = seederDraws
	}
	s.count(sw)
	total := s.plan(n)
	if total == 0 {
		return dst
	}
	base := len(dst)
	dst = slices.Grow(dst, total)[:base+total]
	out := dst[base:]
	if !s.fill(sw, out) && s.box >= 0 {
		out[total-1] = sw.lists[seeders][s.box]
	}
	return dst
}

// tier ranks p, notEligible for the requester itself.
func (s *selection) tier(p *Peer) uint8 {
	if sameID(&p.ID, &s.r.ID) {
		return notEligible
	}
	return uint8(s.r.Tier(p))
}

// count is the first pass: eligible peers per list and tier, and the first
// seedbox seeder met after the random start.
func (s *selection) count(sw *swarm) {
	for _, list := range s.lists {
		peers := sw.lists[list]
		if len(peers) == 0 {
			continue
		}
		s.start[list] = rand.IntN(len(peers))
		cache := len(peers) <= tierCache
		for k, i := 0, s.start[list]; k < len(peers); k++ {
			p := &peers[i]
			t := s.tier(p)
			if cache {
				s.tiers[list][i] = t
			}
			if t != notEligible {
				s.n[list][t]++
				if list == seeders && s.box < 0 && p.Class.Seedbox() {
					s.box = i
				}
			}
			if i++; i == len(peers) {
				i = 0
			}
		}
	}
}

// plan turns the counts into how many peers to take of each list and tier,
// best first, and where they go; it returns how many there are in all.
func (s *selection) plan(n int) int {
	total := 0
	for t := range NumTiers {
		for _, list := range s.lists {
			take := min(s.n[list][t], n-total)
			s.n[list][t], s.off[list][t] = take, total
			total += take
		}
	}
	return total
}

// fill is the second pass: it walks each list from the same random start as
// count and puts every peer still wanted in its slot. It reports whether a
// seedbox seeder was placed.
func (s *selection) fill(sw *swarm, out []Peer) (boxed bool) {
	for _, list := range s.lists {
		peers, left := sw.lists[list], 0
		for _, n := range s.n[list] {
			left += n
		}
		cache := len(peers) <= tierCache
		for k, i := 0, s.start[list]; k < len(peers) && left > 0; k++ {
			p := &peers[i]
			var t uint8
			if cache {
				t = s.tiers[list][i]
			} else {
				t = s.tier(p)
			}
			if t != notEligible && s.n[list][t] > 0 {
				out[s.off[list][t]] = *p
				s.off[list][t]++
				s.n[list][t]--
				left--
				boxed = boxed || (list == seeders && p.Class.Seedbox())
			}
			if i++; i == len(peers) {
				i = 0
			}
		}
	}
	return boxed
}
