package tracker

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// lanHarness is a tracker on storeLAN's campus: 10/8 and fd00::/8, dorm-a
// 10.1/16 (and fd00:a::/32), dorm-b 10.2/16.
func lanHarness(t *testing.T, opts Options) *harness {
	opts.LAN = storeLAN
	return newHarness(t, opts)
}

// storedAs announces peer 1 as a seeder from remote with extra parameters,
// then returns the addresses another peer, off campus, is handed.
func storedAs(t *testing.T, h *harness, remote, extra string) []string {
	t.Helper()
	h.announce(t, ann{peer: 1, left: 0, remote: remote, extra: extra})
	return h.announce(t, ann{peer: 2, left: 1, remote: "192.0.2.200"}).addrs()
}

func TestClaimedAddressTrust(t *testing.T) {
	tests := []struct {
		name, remote, extra string
		want                []string
	}{
		{"campus claim from campus", "10.1.1.5", "ip=10.1.50.50", []string{"10.1.50.50:6881"}},
		{"off-campus source", "192.0.2.5", "ip=10.1.50.50", []string{"192.0.2.5:6881"}},
		{"claim outside campus", "10.1.1.5", "ip=192.0.2.77", []string{"10.1.1.5:6881"}},
		{"ipv4 endpoint", "10.1.1.5", "ipv4=10.2.3.4:7000", []string{"10.2.3.4:7000"}},
		{"ipv4 wins over ip", "10.1.1.5", "ipv4=10.2.3.4&ip=10.2.3.5", []string{"10.2.3.4:6881"}},
		{"other family added (BEP 7)", "10.1.1.5", "ipv6=fd00%3Aa%3A%3A5", []string{"10.1.1.5:6881", "[fd00:a::5]:6881"}},
		{"ipv6 endpoint", "10.1.1.5", "ipv6=%5Bfd00%3Aa%3A%3A5%5D%3A7001", []string{"10.1.1.5:6881", "[fd00:a::5]:7001"}},
		{"ipv6 off campus", "10.1.1.5", "ipv6=2001:db8::5", []string{"10.1.1.5:6881"}},
		{"ipv4= of the wrong family", "10.1.1.5", "ipv4=fd00::1", []string{"10.1.1.5:6881"}},
		{"dns name ignored", "10.1.1.5", "ip=my.laptop.example", []string{"10.1.1.5:6881"}},
		{"ipv6 source, ipv4 claim", "fd00:a::9", "ipv4=10.1.7.7", []string{"10.1.7.7:6881", "[fd00:a::9]:6881"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := lanHarness(t, Options{})
			if got := storedAs(t, h, tt.remote, tt.extra); !slices.Equal(got, tt.want) {
				t.Errorf("stored as %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("no campus configured", func(t *testing.T) {
		h := newHarness(t, Options{})
		if got := storedAs(t, h, "10.1.1.5", "ip=10.1.50.50"); !slices.Equal(got, []string{"10.1.1.5:6881"}) {
			t.Errorf("stored as %q, want the source address", got)
		}
	})
}

// TestBothFamiliesInOneReply: a client that reports an address of each
// family (BEP 7) gets peers of both in one reply, "peers" and "peers6".
func TestBothFamiliesInOneReply(t *testing.T) {
	h := lanHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 0, remote: "10.1.1.5", extra: "ipv4=10.1.1.5&ipv6=fd00%3Aa%3A%3A5"})
	r := h.announce(t, ann{peer: 2, left: 1, remote: "10.1.1.6", extra: "ipv6=fd00%3Aa%3A%3A6"})
	if len(r.Peers) != 1 || len(r.Peers6) != 1 || r.Peers[0].String() != "10.1.1.5:6881" || r.Peers6[0].String() != "[fd00:a::5]:6881" {
		t.Errorf("got peers %v peers6 %v, want one of each family", r.Peers, r.Peers6)
	}
	if r.Complete != 2 || r.Incomplete != 2 {
		t.Errorf("complete %d incomplete %d: want each family counted", r.Complete, r.Incomplete)
	}
	h.announce(t, ann{peer: 1, left: 0, remote: "10.1.1.5", event: "stopped", extra: "ipv6=fd00%3Aa%3A%3A5"})
	if c := h.tr.Counts(ihOne); c.Seeders != 0 {
		t.Errorf("stopped with both addresses left %+v", c)
	}
}

func TestClientIPBehindProxy(t *testing.T) {
	h := newHarness(t, Options{TrustedProxies: prefixes("127.0.0.0/8", "::1/128")})
	tests := []struct {
		name, remote string
		header       http.Header
		want         string
	}{
		{"direct", "10.1.1.7:1", nil, "10.1.1.7"},
		{"trusted proxy", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"10.1.1.7"}}, "10.1.1.7"},
		{"untrusted proxy", "192.0.2.1:1", http.Header{"X-Forwarded-For": {"10.1.1.7"}}, "192.0.2.1"},
		{"chain", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"6.6.6.6, 10.1.1.7, 127.0.0.2"}}, "10.1.1.7"},
		{"header lines", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"6.6.6.6", "10.1.1.9,127.0.0.3"}}, "10.1.1.9"},
		{"all trusted", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"127.0.0.5, 127.0.0.6"}}, "127.0.0.5"},
		{"with port", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"[2001:db8::7]:443"}}, "2001:db8::7"},
		{"real ip", "[::1]:1", http.Header{"X-Real-Ip": {"10.1.1.8"}}, "10.1.1.8"},
		{"malformed", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"10.1.1.7, nonsense"}, "X-Real-Ip": {"10.1.1.8"}}, "10.1.1.8"},
		{"nothing usable", "127.0.0.1:1", http.Header{"X-Forwarded-For": {"nonsense"}}, "127.0.0.1"},
		{"mapped", "[::ffff:127.0.0.1]:1", http.Header{"X-Forwarded-For": {"::ffff:10.1.1.7"}}, "10.1.1.7"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/announce/alice", nil)
		r.RemoteAddr, r.Header = tt.remote, tt.header
		if got := h.tr.clientIP(r); got != netip.MustParseAddr(tt.want) {
			t.Errorf("%s: client %s, want %s", tt.name, got, tt.want)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr, r.Header = "127.0.0.1:1", http.Header{"X-Forwarded-For": {"10.1.1.7"}}
	if got := newHarness(t, Options{}).tr.clientIP(r); got != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("without trusted proxies the header was believed: %s", got)
	}
}

func TestAnnounceBehindProxy(t *testing.T) {
	h := newHarness(t, Options{TrustedProxies: prefixes("127.0.0.1/32")})
	a := ann{peer: 1, left: 0}
	r := httptest.NewRequest(http.MethodGet, a.path(), nil)
	r.RemoteAddr = "127.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", "10.4.4.4")
	h.tr.ServeHTTP(httptest.NewRecorder(), r)
	if got := h.announce(t, ann{peer: 2, left: 1}).addrs(); !slices.Equal(got, []string{"10.4.4.4:6881"}) {
		t.Errorf("peer stored as %q, want the forwarded client", got)
	}
}

func TestNetworkCounts(t *testing.T) {
	h := lanHarness(t, Options{})
	for i, remote := range []string{"10.1.1.1", "10.1.2.2", "fd00:a::3", "10.2.0.4", "10.9.0.5", "192.0.2.6"} {
		h.announce(t, ann{peer: i + 1, remote: remote, left: int64(i % 2)})
	}
	got := h.tr.NetworkCounts(ihOne)
	if len(got) != 2 || got["dorm-a"] != 3 || got["dorm-b"] != 1 {
		t.Errorf("NetworkCounts %v, want dorm-a 3, dorm-b 1", got)
	}
	if got := h.tr.NetworkCounts(ihTwo); len(got) != 2 || got["dorm-a"] != 0 {
		t.Errorf("empty swarm: %v, want every network at 0", got)
	}
}

// FuzzClientIP checks that X-Forwarded-For and X-Real-IP from a trusted
// proxy never panic and never yield an address that is not in them.
func FuzzClientIP(f *testing.F) {
	f.Add("10.1.1.7", "")
	f.Add("6.6.6.6, 10.1.1.7, 127.0.0.2", "10.1.1.8")
	f.Add("[2001:db8::7]:443,,", "fe80::1%eth0")
	f.Add(",,,", " ")
	h := newHarness(f, Options{TrustedProxies: prefixes("127.0.0.0/8")})
	f.Fuzz(func(t *testing.T, xff, realIP string) {
		r := httptest.NewRequest(http.MethodGet, "/announce/alice", nil)
		r.RemoteAddr = "127.0.0.1:1"
		r.Header = http.Header{"X-Forwarded-For": {xff}, "X-Real-Ip": {realIP}}
		got := h.tr.clientIP(r)
		if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("clientIP = %v", got)
		}
		if got == netip.MustParseAddr("127.0.0.1") {
			return
		}
		for _, hop := range strings.Split(xff+","+realIP, ",") {
			if a, ok := parseHop(hop); ok && a == got {
				return
			}
		}
		t.Fatalf("clientIP = %v, not in %q / %q", got, xff, realIP)
	})
}
