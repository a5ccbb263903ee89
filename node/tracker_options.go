package node

import (
	"fmt"
	"net/netip"

	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/tracker"
)

// trackerOptions turns the configuration into the tracker's options: the
// campus and its named networks, trusted proxies, the client allow-list,
// the rate limit and min interval enforcement.
func (n *Node) trackerOptions() (tracker.Options, error) {
	c := n.cfg.Tracker
	lan, err := trackerLAN(c)
	if err != nil {
		return tracker.Options{}, err
	}
	proxies, err := parsePrefixes("http.trusted_proxies", n.cfg.HTTP.TrustedProxies)
	if err != nil {
		return tracker.Options{}, err
	}
	return tracker.Options{
		Interval:           c.AnnounceInterval.D(),
		SeedboxInterval:    c.SeedboxInterval.D(),
		OnLeecher:          n.onLeecher,
		LAN:                lan,
		TrustedProxies:     proxies,
		AllowedClients:     c.AllowedClients,
		AnnounceRate:       max(c.AnnounceRate, 0), // 0: no limit
		AnnounceBurst:      c.AnnounceBurst,
		EnforceMinInterval: c.EnforceMinInterval,
		Logger:             n.log,
	}, nil
}

// trackerLAN builds the LAN-first classifier of the tracker section.
func trackerLAN(c config.Tracker) (*tracker.LAN, error) {
	campus, err := parsePrefixes("tracker.campus", c.Campus)
	if err != nil {
		return nil, err
	}
	lc := tracker.LANConfig{Campus: campus, SubnetBitsV4: c.SubnetPrefixV4, SubnetBitsV6: c.SubnetPrefixV6}
	for _, nw := range c.Networks {
		ps, err := parsePrefixes("tracker.networks "+nw.Name, nw.CIDRs)
		if err != nil {
			return nil, err
		}
		lc.Networks = append(lc.Networks, tracker.Network{Name: nw.Name, Prefixes: ps})
	}
	lan, err := tracker.NewLAN(lc)
	if err != nil {
		return nil, fmt.Errorf("tracker networks: %w", err)
	}
	return lan, nil
}

func parsePrefixes(field string, cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
