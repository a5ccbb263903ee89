package node

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/tracker"
)

func TestTrackerOptions(t *testing.T) {
	cfg := config.Default()
	cfg.HTTP.TrustedProxies = []string{"192.0.2.0/24"}
	cfg.Tracker.Campus = []string{"127.0.0.0/9"}
	cfg.Tracker.Networks = []config.Network{
		{Name: "dorm-a", CIDRs: []string{"127.1.0.0/16"}},
		{Name: "dorm-b", CIDRs: []string{"127.2.0.0/16", "fd00:2::/32"}},
	}
	cfg.Tracker.AllowedClients = []string{"-qB"}
	n := &Node{cfg: cfg}
	opts, err := n.trackerOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.AnnounceRate != 5 || opts.AnnounceBurst != 1000 || !opts.EnforceMinInterval || len(opts.AllowedClients) != 1 {
		t.Errorf("policies %+v", opts)
	}
	if len(opts.TrustedProxies) != 1 || !opts.TrustedProxies[0].Contains(netip.MustParseAddr("192.0.2.9")) {
		t.Errorf("trusted proxies %v", opts.TrustedProxies)
	}
	for addr, want := range map[string]tracker.PeerClass{
		"127.1.2.3":   tracker.ClassCampus | 1,
		"127.2.2.3":   tracker.ClassCampus | 2,
		"fd00:2::1":   tracker.ClassCampus | 2,
		"127.0.0.1":   tracker.ClassCampus,
		"127.200.0.1": 0,
	} {
		if got := opts.LAN.Classify(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: class %#x, want %#x", addr, got, want)
		}
	}

	cfg.Tracker.AnnounceRate = 0
	if opts, err := (&Node{cfg: cfg}).trackerOptions(); err != nil || opts.AnnounceRate != 0 {
		t.Errorf("announce_rate 0: %v %v, want no limit", opts.AnnounceRate, err)
	}
	cfg.Tracker.Networks = append(cfg.Tracker.Networks, config.Network{Name: "bad", CIDRs: []string{"127.3/16"}})
	if _, err := (&Node{cfg: cfg}).trackerOptions(); err == nil || !strings.Contains(err.Error(), "tracker.networks bad") {
		t.Errorf("bad CIDR: %v", err)
	}
}
