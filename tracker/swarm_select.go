package tracker

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
)

// tierCache is the longest list whose tiers the first pass remembers for
// the second; longer lists are ranked twice.
const tierCache = 128

// fillRun masks tiers with 3: there must be 4.
var _ = [1]struct{}{}[NumTiers-4]

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

// selectPeers appends up to n peers of src for r to dst: best tier first;
// within a tier seeders first for a leecher, only leechers for a seeder;
// never a peer with r's ID. A leecher always gets a seedbox seeder when the
// swarm has one, the source of last resort: when none made the cut, one
// takes the last slot.
func selectPeers(src *peerLists, dst []Peer, r *Requester, n int) []Peer {
	if n <= 0 || src.count(leechers)+src.count(seeders) == 0 {
		return dst
	}
	s := selection{r: r, lists: leecherDraws, box: -1}
	if r.Seeder {
		s.lists = seederDraws
	}
	countTiers(&s, src)
	total := s.plan(n)
	if total == 0 {
		return dst
	}
	base := len(dst)
	dst = slices.Grow(dst, total)[:base+total]
	out := dst[base:]
	if !fillTiers(&s, src, out) && s.box >= 0 {
		src.peer(seeders, s.box, &out[total-1])
	}
	return dst
}

// countTiers is the first pass: eligible peers per list and tier, and the
// first seedbox seeder met after the random start. It reads the stored
// records in place: the ID, address and class are all a tier needs.
func countTiers(s *selection, src *peerLists) {
	for _, list := range s.lists {
		size := src.count(list)
		if size == 0 {
			continue
		}
		s.start[list] = rand.IntN(size)
		c := tierCount{r: s.r, tiers: &s.tiers[list], n: &s.n[list], list: list, start: s.start[list],
			cache: size <= tierCache, first: -1, after: -1}
		if src.onHeap {
			for i := range src.heap[list] {
				p := &src.heap[list][i]
				c.add(i, tierPeer(c.r, p), p.Class)
			}
		} else {
			c.recs4(src)
			c.recs6(src)
		}
		if list == seeders {
			s.box = c.after
			if s.box < 0 {
				s.box = c.first
			}
		}
	}
}

// tierCount is countTiers' pass over one list. The first seedbox seeder met
// walking round from start is the first at or after start, or else the first.
type tierCount struct {
	r            *Requester
	tiers        *[tierCache]uint8 // the selection's, of the list
	n            *[NumTiers]int    // the selection's, of the list
	list, start  int
	cache        bool
	first, after int // first seedbox seeder, first at or after start
}

// recs4 counts the list's IPv4 records, recs6 its IPv6 ones: tierRec, one
// loop per family so that every access is to a fixed-size record.
func (c *tierCount) recs4(src *peerLists) {
	base, from, to := src.span(c.list, fam4)
	b, r := src.b[fam4], c.r
	for pos := from; pos < to; pos++ {
		rec := (*[rec4Size]byte)(b[blockHead+pos*rec4Size:])
		t, class := uint8(notEligible), PeerClass(rec[26])
		if !sameID((*[20]byte)(rec[:20]), &r.ID) {
			t = uint8(r.tierWords(0, v4Word(rec[:]), fam4, class))
		}
		c.add(base+pos-from, t, class)
	}
}

func (c *tierCount) recs6(src *peerLists) {
	base, from, to := src.span(c.list, fam6)
	b, r := src.b[fam6], c.r
	for pos := from; pos < to; pos++ {
		rec := (*[rec6Size]byte)(b[blockHead+pos*rec6Size:])
		t, class := uint8(notEligible), PeerClass(rec[38])
		if !sameID((*[20]byte)(rec[:20]), &r.ID) {
			w0, w1 := binary.LittleEndian.Uint64(rec[20:28]), binary.LittleEndian.Uint64(rec[28:36])
			t = uint8(r.tierWords(w0, w1, fam6, class))
		}
		c.add(base+pos-from, t, class)
	}
}

func (c *tierCount) add(i int, t uint8, class PeerClass) {
	if c.cache {
		c.tiers[i] = t
	}
	if t == notEligible {
		return
	}
	c.n[t]++
	if c.list == seeders && class.Seedbox() {
		if c.first < 0 {
			c.first = i
		}
		if c.after < 0 && i >= c.start {
			c.after = i
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

// fillTiers is the second pass: it walks each list from the same random start as
// countTiers and puts every peer still wanted in its slot. It reports whether a
// seedbox seeder was placed.
func fillTiers(s *selection, src *peerLists, out []Peer) (boxed bool) {
	for _, list := range s.lists {
		size, left := src.count(list), 0
		for _, n := range s.n[list] {
			left += n
		}
		if left == 0 {
			continue
		}
		if !src.onHeap && size <= tierCache {
			// The tiers are cached: copy the records straight out of
			// the blocks, from the start round to it.
			boxed = s.fillRecs(src, list, out, left, boxed)
			continue
		}
		cache := size <= tierCache
		for k, i := 0, s.start[list]; k < size && left > 0; k++ {
			var t uint8
			if cache {
				t = s.tiers[list][i]
			} else {
				t = src.tier(s.r, list, i)
			}
			if t != notEligible && s.n[list][t] > 0 {
				o := &out[s.off[list][t]]
				src.peer(list, i, o)
				s.off[list][t]++
				s.n[list][t]--
				left--
				boxed = boxed || (list == seeders && o.Class.Seedbox())
			}
			if i++; i == size {
				i = 0
			}
		}
	}
	return boxed
}

// fillRecs is fillTiers over a list in blocks, whose tiers are cached,
// from its start round to it: up to three runs, each of one block.
func (s *selection) fillRecs(src *peerLists, list int, out []Peer, left int, boxed bool) bool {
	start, size := s.start[list], src.count(list)
	_, from4, _ := src.span(list, fam4)
	a, from6, _ := src.span(list, fam6) // a: the list's IPv4 peers
	shift4, shift6 := from4, from6-a    // block position - list index
	if start < a {
		left, boxed = s.fillRun(src, list, fam4, start, a, shift4, out, left, boxed)
		left, boxed = s.fillRun(src, list, fam6, a, size, shift6, out, left, boxed)
		_, boxed = s.fillRun(src, list, fam4, 0, start, shift4, out, left, boxed)
		return boxed
	}
	left, boxed = s.fillRun(src, list, fam6, start, size, shift6, out, left, boxed)
	left, boxed = s.fillRun(src, list, fam4, 0, a, shift4, out, left, boxed)
	_, boxed = s.fillRun(src, list, fam6, a, start, shift6, out, left, boxed)
	return boxed
}

// fillRun places the wanted peers lo to hi of a list, all in family fam's
// block at their index + shift; left are the peers still wanted.
func (s *selection) fillRun(src *peerLists, list, fam, lo, hi, shift int, out []Peer, left int, boxed bool) (int, bool) {
	if lo >= hi || left == 0 {
		return left, boxed
	}
	seeder := list == seeders
	// Tiers are < NumTiers (4) past notEligible: t&3 spares bounds checks.
	tiers, want, at := &s.tiers[list], &s.n[list], &s.off[list]
	b, size := src.b[fam], recSize(fam)
	for i := lo; i < hi && left > 0; i++ {
		t := tiers[i]
		if t == notEligible || want[t&3] == 0 {
			continue
		}
		off := blockHead + (i+shift)*size
		o := &out[at[t&3]]
		if fam == fam4 {
			getRec4((*[rec4Size]byte)(b[off:]), seeder, o)
		} else {
			getRec6((*[rec6Size]byte)(b[off:]), seeder, o)
		}
		at[t&3]++
		want[t&3]--
		left--
		boxed = boxed || (seeder && o.Class.Seedbox())
	}
	return left, boxed
}
