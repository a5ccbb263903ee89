package tracker

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// Where a requester is, and which addresses it is stored under.
//
// A claimed address (BEP 3 ip=, BEP 7 ipv4= and ipv6=) is believed only when
// the request comes from a campus range and the claim is inside one too:
// students behind a dorm NAT report their LAN address so that their
// neighbours reach them directly, while nobody off campus can make the
// tracker hand out someone else's address. Behind a reverse proxy the
// request's address comes from X-Forwarded-For or X-Real-IP, and only when
// the proxy itself is in Options.TrustedProxies.

// selfAddrs returns the addresses the requester is stored under, at most one
// per family ([0] IPv4, [1] IPv6; invalid when none): req.IP, then each claim
// the tracker believes, in the order ip=, ipv4=, ipv6=, a later one replacing
// an earlier one of the same family. A claim without a port takes req.Port.
func (t *Tracker) selfAddrs(req *AnnounceRequest) [2]netip.AddrPort {
	var addrs [2]netip.AddrPort
	src := req.IP.Unmap()
	addrs[family(src)] = netip.AddrPortFrom(src, req.Port)
	claims := req.ClaimedIP.IsValid() || req.ClaimedIPv4.IsValid() || req.ClaimedIPv6.IsValid()
	if !claims || !t.lan.Classify(src).Campus() {
		return addrs
	}
	t.believe(&addrs, req.ClaimedIP, req.Port, -1)
	t.believe(&addrs, req.ClaimedIPv4, req.Port, 0)
	t.believe(&addrs, req.ClaimedIPv6, req.Port, 1)
	return addrs
}

// believe puts claim into addrs when it is on campus and, unless want is
// negative, of family want.
func (t *Tracker) believe(addrs *[2]netip.AddrPort, claim netip.AddrPort, port uint16, want int) {
	a := claim.Addr().Unmap()
	if !a.IsValid() || (want >= 0 && family(a) != want) || !t.lan.Classify(a).Campus() {
		return
	}
	if claim.Port() != 0 {
		port = claim.Port()
	}
	addrs[family(a)] = netip.AddrPortFrom(a.WithZone(""), port)
}

// family is 0 for an IPv4 address, 1 for IPv6.
func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// clientIP is the address of the client behind r: RemoteAddr's, or, when
// RemoteAddr is a trusted proxy, the client its X-Forwarded-For names (the
// last hop that is not a trusted proxy itself), or else its X-Real-IP.
func (t *Tracker) clientIP(r *http.Request) netip.Addr {
	ip := remoteIP(r.RemoteAddr)
	if len(t.opts.TrustedProxies) == 0 || !t.trustedProxy(ip) {
		return ip
	}
	if a, ok := t.forwardedFor(r.Header["X-Forwarded-For"]); ok {
		return a
	}
	if v := r.Header["X-Real-Ip"]; len(v) > 0 {
		if a, ok := parseHop(v[len(v)-1]); ok {
			return a
		}
	}
	return ip
}

func (t *Tracker) trustedProxy(a netip.Addr) bool {
	return slices.ContainsFunc(t.opts.TrustedProxies, func(p netip.Prefix) bool { return p.Contains(a) })
}

// forwardedFor walks the X-Forwarded-For hops from the nearest, skipping
// trusted proxies; the first other hop is the client. When every hop is a
// trusted proxy the farthest one is. A malformed hop ends the walk: the
// chain cannot be followed, and the header is not used.
func (t *Tracker) forwardedFor(values []string) (netip.Addr, bool) {
	var client netip.Addr
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for rest != "" {
			var hop string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				hop, rest = rest[j+1:], rest[:j]
			} else {
				hop, rest = rest, ""
			}
			a, ok := parseHop(hop)
			if !ok {
				return netip.Addr{}, false
			}
			if client = a; !t.trustedProxy(a) {
				return a, true
			}
		}
	}
	return client, client.IsValid()
}

// parseHop parses one proxy hop: an address, possibly with a port. Zoned
// addresses (fe80::1%eth0) and unspecified ones (::, 0.0.0.0) name no client
// another host can reach, and a zone could smuggle a comma: both are refused.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, '%') >= 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	a = a.Unmap()
	return a, !a.IsUnspecified()
}
