package tracker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Network is a named LAN (a dorm, the library) given by its address ranges.
type Network struct {
	Name     string
	Prefixes []netip.Prefix
}

// LANConfig describes the campus for LAN-first peer selection.
type LANConfig struct {
	// Campus ranges: their peers rank above the rest of the world for a
	// requester on campus, and ip=/ipv4=/ipv6= are believed only from and
	// into them. A named network counts as campus too.
	Campus []netip.Prefix
	// Networks are named LANs, at most MaxNetworks. Where they overlap,
	// the longest prefix wins, then the first listed.
	Networks []Network
	// SubnetBitsV4 and SubnetBitsV6 make a requester's own subnet, the
	// best tier; defaults 24 and 64.
	SubnetBitsV4 int
	SubnetBitsV6 int
}

// LAN classifies addresses for LAN-first peer selection: which named network
// and whether on campus. Every range is flattened at construction into one
// sorted table of disjoint intervals over the IPv6 address space (IPv4 as
// IPv4-mapped), so a lookup is a binary search that does not allocate.
type LAN struct {
	names        []string    // names[i-1] is network i
	starts       []u128      // sorted; starts[0] is ::
	classes      []PeerClass // classes[i] holds from starts[i] up to starts[i+1]
	bits4, bits6 int
}

// NewLAN checks cfg and builds its classifier.
func NewLAN(cfg LANConfig) (*LAN, error) {
	cfg.SubnetBitsV4 = orDefault(cfg.SubnetBitsV4, 24)
	cfg.SubnetBitsV6 = orDefault(cfg.SubnetBitsV6, 64)
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("lan: %w", err)
	}
	return newLAN(cfg), nil
}

func (cfg *LANConfig) check() error {
	var errs []error
	if len(cfg.Networks) > MaxNetworks {
		errs = append(errs, fmt.Errorf("%d named networks: at most %d", len(cfg.Networks), MaxNetworks))
	}
	if cfg.SubnetBitsV4 > 32 || cfg.SubnetBitsV6 > 128 {
		errs = append(errs, fmt.Errorf("subnet bits %d/%d: at most 32/128", cfg.SubnetBitsV4, cfg.SubnetBitsV6))
	}
	seen := map[string]bool{}
	for _, n := range cfg.Networks {
		if n.Name == "" || seen[n.Name] {
			errs = append(errs, fmt.Errorf("network name %q: empty or used twice", n.Name))
		}
		seen[n.Name] = true
		if slices.ContainsFunc(n.Prefixes, invalidPrefix) {
			errs = append(errs, fmt.Errorf("network %q: invalid prefix", n.Name))
		}
	}
	if slices.ContainsFunc(cfg.Campus, invalidPrefix) {
		errs = append(errs, errors.New("campus: invalid prefix"))
	}
	return errors.Join(errs...)
}

func invalidPrefix(p netip.Prefix) bool { return !p.IsValid() }

// newLAN builds a classifier from a checked configuration.
func newLAN(cfg LANConfig) *LAN {
	l := &LAN{bits4: cfg.SubnetBitsV4, bits6: cfg.SubnetBitsV6}
	for _, n := range cfg.Networks {
		l.names = append(l.names, n.Name)
	}
	for _, start := range boundaries(cfg) {
		c := classAt(cfg, start)
		if k := len(l.classes); k > 0 && l.classes[k-1] == c {
			continue // same class as the interval before: merge
		}
		l.starts = append(l.starts, start)
		l.classes = append(l.classes, c)
	}
	return l
}

// defaultLAN knows no campus and no named network.
func defaultLAN() *LAN { return newLAN(LANConfig{SubnetBitsV4: 24, SubnetBitsV6: 64}) }

// boundaries returns, sorted, :: and every point where some range starts or
// ends: between two of them, every address has the same class.
func boundaries(cfg LANConfig) []u128 {
	points := []u128{{}}
	add := func(p netip.Prefix) {
		first, last := prefixRange(p)
		points = append(points, first)
		if next, ok := last.next(); ok {
			points = append(points, next)
		}
	}
	for _, p := range cfg.Campus {
		add(p)
	}
	for _, n := range cfg.Networks {
		for _, p := range n.Prefixes {
			add(p)
		}
	}
	slices.SortFunc(points, u128.compare)
	return slices.Compact(points)
}

// classAt is the class of address x: its named network (longest prefix,
// then first listed) and whether it is on campus. Only used to build the
// table, so it simply tries every range.
func classAt(cfg LANConfig, x u128) PeerClass {
	var c PeerClass
	for _, p := range cfg.Campus {
		if prefixContains(p, x) {
			c = ClassCampus
		}
	}
	best := -1
	for i, n := range cfg.Networks {
		for _, p := range n.Prefixes {
			if bits := prefixBits(p); prefixContains(p, x) && bits > best {
				best, c = bits, ClassCampus|PeerClass(i+1)
			}
		}
	}
	return c
}

// Classify returns the class of address a: named network and campus bit.
func (l *LAN) Classify(a netip.Addr) PeerClass {
	return l.classOf(addrU128(a.As16()))
}

func (l *LAN) classOf(x u128) PeerClass {
	lo, hi := 0, len(l.starts) // the answer is in [lo, hi)
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if x.less(l.starts[mid]) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return l.classes[lo]
}

// Names returns the named networks in configuration order; network i of a
// PeerClass is Names()[i-1].
func (l *LAN) Names() []string { return slices.Clone(l.names) }

// u128 is an address of the IPv6 space as two big-endian halves.
type u128 struct{ hi, lo uint64 }

func addrU128(a [16]byte) u128 {
	return u128{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])}
}

func (x u128) less(y u128) bool { return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo) }

func (x u128) compare(y u128) int {
	switch {
	case x.less(y):
		return -1
	case y.less(x):
		return 1
	}
	return 0
}

func (x u128) and(m u128) u128 { return u128{x.hi & m.hi, x.lo & m.lo} }

func (x u128) bytes() [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return b
}

// next returns x+1, false when x is the last address.
func (x u128) next() (u128, bool) {
	if x.lo != ^uint64(0) {
		return u128{x.hi, x.lo + 1}, true
	}
	if x.hi != ^uint64(0) {
		return u128{x.hi + 1, 0}, true
	}
	return x, false
}

// is4 reports whether x is an IPv4-mapped address.
func (x u128) is4() bool { return x.hi == 0 && x.lo>>32 == 0xffff }

// maskBits returns the mask of the first bits bits.
func maskBits(bits int) u128 {
	switch {
	case bits <= 0:
		return u128{}
	case bits < 64:
		return u128{hi: ^uint64(0) << (64 - bits)}
	case bits < 128:
		return u128{hi: ^uint64(0), lo: ^uint64(0) << (128 - bits)}
	}
	return u128{^uint64(0), ^uint64(0)}
}

// prefixBits is p's length in the IPv6 space: an IPv4 /24 is a /120.
func prefixBits(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 96 + p.Bits()
	}
	return p.Bits()
}

// prefixRange returns the first and last address of p in the IPv6 space.
func prefixRange(p netip.Prefix) (first, last u128) {
	m := maskBits(prefixBits(p))
	first = addrU128(p.Addr().As16()).and(m)
	return first, u128{first.hi | ^m.hi, first.lo | ^m.lo}
}

func prefixContains(p netip.Prefix, x u128) bool {
	first, last := prefixRange(p)
	return !x.less(first) && !last.less(x)
}
