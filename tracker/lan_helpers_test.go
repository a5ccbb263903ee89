package tracker

import "net/netip"

// storeLAN is the campus of the LAN tests: 10/8 and fd00::/8, with dorm-a
// (10.1/16, fd00:a::/32) and dorm-b (10.2/16), as in tracker/storetest.
var storeLAN = mustLAN(LANConfig{
	Campus: prefixes("10.0.0.0/8", "fd00::/8"),
	Networks: []Network{
		{Name: "dorm-a", Prefixes: prefixes("10.1.0.0/16", "fd00:a::/32")},
		{Name: "dorm-b", Prefixes: prefixes("10.2.0.0/16")},
	},
})

func mustLAN(cfg LANConfig) *LAN {
	l, err := NewLAN(cfg)
	if err != nil {
		panic(err)
	}
	return l
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// lanPeer is peer n at addr, port 1000+n, classified by storeLAN.
func lanPeer(n int, addr string, seeder bool) Peer {
	a := netip.MustParseAddr(addr)
	p := NewPeer(testPeerID(n), netip.AddrPortFrom(a, uint16(1000+n)), seeder, 1000)
	p.Class = storeLAN.Classify(a)
	return p
}
