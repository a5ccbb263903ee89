package tracker

import (
	"net/netip"
	"strings"
	"testing"
	"unsafe"
)

func TestPeerStaysSmall(t *testing.T) {
	if size := unsafe.Sizeof(Peer{}); size != 44 {
		t.Errorf("Peer is %d bytes, want 44", size)
	}
}

func TestLANClassify(t *testing.T) {
	l := mustLAN(LANConfig{
		Campus: prefixes("10.0.0.0/8", "192.168.0.0/16", "fd00::/8"),
		Networks: []Network{
			{Name: "dorm-a", Prefixes: prefixes("10.1.0.0/16", "fd00:a::/32")},
			{Name: "library", Prefixes: prefixes("10.1.200.0/24", "172.20.0.0/16")}, // inside dorm-a; off the campus list
			{Name: "dorm-b", Prefixes: prefixes("10.2.0.0/16", "10.2.0.0/16")},
			{Name: "everything", Prefixes: prefixes("0.0.0.0/0")},
		},
	})
	tests := []struct {
		addr string
		want PeerClass
	}{
		{"10.1.2.3", ClassCampus | 1},
		{"10.1.0.0", ClassCampus | 1},
		{"10.1.255.255", ClassCampus | 1},
		{"10.1.200.7", ClassCampus | 2},  // the longer prefix wins
		{"172.20.1.1", ClassCampus | 2},  // a named network counts as campus
		{"10.2.9.9", ClassCampus | 3},    // a duplicate range changes nothing
		{"10.3.0.1", ClassCampus | 4},    // campus, in the catch-all network only
		{"192.168.1.1", ClassCampus | 4}, // idem
		{"8.8.8.8", ClassCampus | 4},
		{"fd00:a::1", ClassCampus | 1},
		{"fd00:b::1", ClassCampus},
		{"2001:db8::1", 0},
		{"::ffff:10.1.2.3", ClassCampus | 1}, // IPv4-mapped is IPv4
		{"::", 0},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	}
	for _, tt := range tests {
		if got := l.Classify(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Classify(%s) = %#x, want %#x", tt.addr, got, tt.want)
		}
	}
	if names := l.Names(); len(names) != 4 || names[0] != "dorm-a" || names[3] != "everything" {
		t.Errorf("Names() = %q", names)
	}
}

func TestLANWholeSpace(t *testing.T) {
	l := mustLAN(LANConfig{Campus: prefixes("::/0")})
	for _, a := range []string{"::", "1.2.3.4", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		if got := l.Classify(netip.MustParseAddr(a)); got != ClassCampus {
			t.Errorf("Classify(%s) = %#x, want campus", a, got)
		}
	}
	if got := defaultLAN().Classify(netip.MustParseAddr("10.0.0.1")); got != 0 {
		t.Errorf("the default LAN classifies 10.0.0.1 as %#x, want nothing", got)
	}
}

func TestNewLANRefuses(t *testing.T) {
	many := make([]Network, MaxNetworks+1)
	for i := range many {
		many[i].Name = strings.Repeat("n", i+1)
	}
	for name, cfg := range map[string]LANConfig{
		"too many networks":   {Networks: many},
		"duplicate name":      {Networks: []Network{{Name: "a"}, {Name: "a"}}},
		"empty name":          {Networks: []Network{{}}},
		"invalid prefix":      {Campus: []netip.Prefix{{}}},
		"subnet bits too big": {SubnetBitsV4: 33},
	} {
		if _, err := NewLAN(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if l, err := NewLAN(LANConfig{Networks: many[:MaxNetworks]}); err != nil || l.Classify(netip.MustParseAddr("10.0.0.1")) != 0 {
		t.Errorf("%d networks: %v", MaxNetworks, err)
	}
}

func TestRequesterTier(t *testing.T) {
	l := mustLAN(LANConfig{
		Campus:       prefixes("10.0.0.0/8", "fd00::/8"),
		Networks:     []Network{{Name: "dorm-a", Prefixes: prefixes("10.1.0.0/16", "fd00:a::/32")}, {Name: "dorm-b", Prefixes: prefixes("10.2.0.0/16")}},
		SubnetBitsV4: 24, SubnetBitsV6: 64,
	})
	peer := func(addr string) Peer {
		a := netip.MustParseAddr(addr)
		p := NewPeer(testPeerID(1), netip.AddrPortFrom(a, 1), false, 0)
		p.Class = l.Classify(a)
		return p
	}
	tests := []struct {
		requester []string
		peer      string
		want      Tier
	}{
		{[]string{"10.1.1.9"}, "10.1.1.200", TierSubnet},
		{[]string{"10.1.1.9"}, "10.1.2.1", TierNetwork},
		{[]string{"10.1.1.9"}, "10.2.1.1", TierCampus},
		{[]string{"10.1.1.9"}, "10.9.1.1", TierCampus},
		{[]string{"10.1.1.9"}, "fd00:b::1", TierCampus},
		{[]string{"10.1.1.9"}, "fd00:a::1", TierNetwork}, // same named network, other family
		{[]string{"10.1.1.9"}, "8.8.8.8", TierOther},
		{[]string{"10.9.1.9"}, "10.9.1.1", TierSubnet}, // campus, no network
		{[]string{"10.9.1.9"}, "10.1.1.1", TierCampus},
		{[]string{"8.8.8.9"}, "8.8.8.1", TierSubnet}, // off campus still has a subnet
		{[]string{"8.8.8.9"}, "10.1.1.1", TierOther}, // ...but campus is no better than elsewhere
		{[]string{"8.8.8.9"}, "2001:db8::1", TierOther},
		{[]string{"fd00:a::9"}, "fd00:a::1", TierSubnet},
		{[]string{"fd00:a::9"}, "fd00:a:0:1::1", TierNetwork},
		{[]string{"fd00:a::9"}, "10.1.1.1", TierNetwork},
		{[]string{"::1"}, "0.0.0.1", TierOther}, // ::/64 is not the IPv4 space
		{[]string{"10.1.1.9", "fd00:b::9"}, "fd00:b::1", TierSubnet},
		{[]string{"10.1.1.9", "fd00:b::9"}, "10.1.1.1", TierSubnet},
		{[]string{"10.9.9.9", "fd00:a::9"}, "10.1.5.5", TierNetwork},
	}
	for _, tt := range tests {
		var self []Peer
		for _, a := range tt.requester {
			self = append(self, peer(a))
		}
		r, p := l.Requester(self), peer(tt.peer)
		if got := r.Tier(&p); got != tt.want {
			t.Errorf("requester %v, peer %s: tier %v, want %v", tt.requester, tt.peer, got, tt.want)
		}
	}
}

func TestTierNames(t *testing.T) {
	for tier, want := range map[Tier]string{TierSubnet: "subnet", TierNetwork: "network", TierCampus: "campus", TierOther: "other", NumTiers: "unknown"} {
		if tier.String() != want {
			t.Errorf("%d: %q, want %q", tier, tier.String(), want)
		}
	}
}

func BenchmarkLANClassify(b *testing.B) {
	var cfg LANConfig
	for i := range MaxNetworks {
		cfg.Networks = append(cfg.Networks, Network{Name: strings.Repeat("x", i+1), Prefixes: prefixes(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16).String())})
	}
	cfg.Campus = prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
	l := mustLAN(cfg)
	a := netip.MustParseAddr("10.42.1.1")
	b.ReportAllocs()
	for b.Loop() {
		if l.Classify(a).Network() != 43 {
			b.Fatal("wrong network")
		}
	}
}
