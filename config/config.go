// Package config holds Seedbed's configuration: one Config struct of per-part
// sections, loaded from an optional TOML file, then SEEDBED_* environment
// variables, then flags. Defaults work with no file at all.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration of a node.
type Config struct {
	DataDir   string `toml:"data_dir"`
	PublicURL string `toml:"public_url"`
	LogLevel  string `toml:"log_level"`

	HTTP      HTTP      `toml:"http"`
	Database  Database  `toml:"database"`
	Tracker   Tracker   `toml:"tracker"`
	Seedbox   Seedbox   `toml:"seedbox"`
	Portal    Portal    `toml:"portal"`
	Retention Retention `toml:"retention"`
}

// HTTP configures the portal's listener, which also serves the HTTP tracker
// and the web seed.
type HTTP struct {
	Addr           string   `toml:"addr"`
	TrustedProxies []string `toml:"trusted_proxies"`
}

// Database selects the catalog engine.
type Database struct {
	URL string `toml:"url"`
}

// Tracker configures the private tracker.
type Tracker struct {
	UDPAddr          string    `toml:"udp_addr"`
	AnnounceInterval Duration  `toml:"announce_interval"`
	SeedboxInterval  Duration  `toml:"seedbox_interval"`
	RedisURL         string    `toml:"redis_url"`
	RedisPrefix      string    `toml:"redis_prefix"` // Redis key prefix shared by the nodes; empty: "seedbed:"
	Campus           []string  `toml:"campus"`
	SubnetPrefixV4   int       `toml:"subnet_prefix_v4"`
	SubnetPrefixV6   int       `toml:"subnet_prefix_v6"`
	Networks         []Network `toml:"networks"`
	// AllowedClients are the peer_id prefixes allowed to announce
	// ("-qB", "-TR", "A2-"); empty allows every client.
	AllowedClients []string `toml:"allowed_clients"`
	// AnnounceRate is each passkey's sustained announces per second, with
	// bursts of AnnounceBurst; 0 turns the limit off.
	AnnounceRate  float64 `toml:"announce_rate"`
	AnnounceBurst int     `toml:"announce_burst"`
	// EnforceMinInterval answers an announce sooner than "min interval"
	// without crediting it: its traffic counts at the next one on time.
	EnforceMinInterval bool `toml:"enforce_min_interval"`
}

// Network is a named LAN (a dorm, the library) given as CIDRs.
type Network struct {
	Name  string   `toml:"name"`
	CIDRs []string `toml:"cidrs"`
}

// Seedbox configures the seeding daemon and its storage volumes.
type Seedbox struct {
	PeerAddr    string   `toml:"peer_addr"`
	Node        string   `toml:"node"`
	Replicas    int      `toml:"replicas"`
	Placement   string   `toml:"placement"`
	ForceVolume string   `toml:"force_volume"`
	Volumes     []Volume `toml:"volumes"`
	// ScrubRate caps how many bytes per second the scrub reads (0:
	// uncapped); ReplicationRate caps replica copies the same way.
	ScrubRate       Size `toml:"scrub_rate"`
	ReplicationRate Size `toml:"replication_rate"`
	// UploadRate caps what the seedbox's BitTorrent client uploads per
	// second over all its peers (0: unlimited). The web seed is served by
	// the portal over HTTP and is not capped by it.
	UploadRate Size `toml:"upload_rate"`
	// CheckInterval is how often the replicator compares every replica
	// with the disk and the wanted count.
	CheckInterval Duration `toml:"check_interval"`
}

// Volume is one storage location for torrent content.
type Volume struct {
	Name          string   `toml:"name"`
	Path          string   `toml:"path"`
	State         string   `toml:"state"`
	Reserve       Size     `toml:"reserve"`
	Capacity      Size     `toml:"capacity"` // cap on what the volume holds; 0: the file system's size
	ScrubInterval Duration `toml:"scrub_interval"`
}

// Portal configures the website and its API.
type Portal struct {
	MaxUploadSize Size     `toml:"max_upload_size"`
	SessionTTL    Duration `toml:"session_ttl"`
	Registration  string   `toml:"registration"` // closed | open | domains | invite
	// RegistrationDomains are the email domains that may sign up when
	// Registration is "domains" (e.g. "campus.example.edu").
	RegistrationDomains []string `toml:"registration_domains"`
	// DefaultQuota is the storage quota of a user without one of their own
	// (0: no limit); UploadMaxAge is how long an unfinished resumable
	// upload is kept without progress.
	DefaultQuota Size     `toml:"default_quota"`
	UploadMaxAge Duration `toml:"upload_max_age"`
}

// Retention is the purge policy applied by the seedbox.
type Retention struct {
	Auto             bool     `toml:"auto"`
	MaxSize          Size     `toml:"max_size"`
	StaleAfter       Duration `toml:"stale_after"`
	MinAge           Duration `toml:"min_age"`
	HighWater        float64  `toml:"high_water"`
	LowWater         float64  `toml:"low_water"`
	ExemptCategories []string `toml:"exempt_categories"`
	Interval         Duration `toml:"interval"` // how often the daemon applies the policy when auto is on
}

// Default returns the zero-configuration setup: everything under ./data on
// loopback.
func Default() Config {
	return Config{
		DataDir:  "./data",
		LogLevel: "info",
		HTTP:     HTTP{Addr: "127.0.0.1:8080"},
		Tracker: Tracker{
			UDPAddr:            "127.0.0.1:6969",
			AnnounceInterval:   Duration(30 * time.Minute),
			SeedboxInterval:    Duration(5 * time.Second),
			Campus:             []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "127.0.0.0/8"},
			SubnetPrefixV4:     24,
			SubnetPrefixV6:     64,
			AnnounceRate:       5,
			AnnounceBurst:      1000,
			EnforceMinInterval: true,
		},
		Seedbox: Seedbox{
			PeerAddr:      "127.0.0.1:51413",
			Node:          "node-1",
			Placement:     "most-free",
			ScrubRate:     100 << 20,
			CheckInterval: Duration(30 * time.Second),
		},
		Portal: Portal{
			MaxUploadSize: 64 << 30,
			SessionTTL:    Duration(30 * 24 * time.Hour),
			Registration:  "closed",
			UploadMaxAge:  Duration(24 * time.Hour),
		},
		Retention: Retention{
			MaxSize:    20 << 30,
			StaleAfter: Duration(720 * time.Hour),
			MinAge:     Duration(168 * time.Hour),
			HighWater:  0.90,
			LowWater:   0.80,
			Interval:   Duration(time.Hour),
		},
	}
}

// Load reads the file at path (none when empty), then the environment, and
// fills derived defaults. It does not validate; call Validate.
func Load(path string) (Config, error) {
	cfg := Default()
	if path != "" {
		md, err := toml.DecodeFile(path, &cfg)
		if err != nil {
			return cfg, fmt.Errorf("read config %s: %w", path, err)
		}
		if keys := md.Undecoded(); len(keys) > 0 {
			return cfg, fmt.Errorf("config %s: unknown key %q", path, keys[0].String())
		}
	}
	if err := cfg.applyEnv(os.LookupEnv); err != nil {
		return cfg, err
	}
	cfg.fillDerived()
	return cfg, nil
}

func (c *Config) applyEnv(lookup func(string) (string, bool)) error {
	str := map[string]*string{
		"SEEDBED_DATA_DIR":     &c.DataDir,
		"SEEDBED_HTTP_ADDR":    &c.HTTP.Addr,
		"SEEDBED_UDP_ADDR":     &c.Tracker.UDPAddr,
		"SEEDBED_PEER_ADDR":    &c.Seedbox.PeerAddr,
		"SEEDBED_PUBLIC_URL":   &c.PublicURL,
		"SEEDBED_DATABASE_URL": &c.Database.URL,
		"SEEDBED_REDIS_URL":    &c.Tracker.RedisURL,
		"SEEDBED_NODE":         &c.Seedbox.Node,
		"SEEDBED_LOG_LEVEL":    &c.LogLevel,
		"SEEDBED_REGISTRATION": &c.Portal.Registration,
	}
	for name, dst := range str {
		if v, ok := lookup(name); ok {
			*dst = v
		}
	}
	if v, ok := lookup("SEEDBED_DATABASE_URL_FILE"); ok {
		b, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("SEEDBED_DATABASE_URL_FILE: %w", err)
		}
		c.Database.URL = strings.TrimSpace(string(b))
	}
	durs := map[string]*Duration{
		"SEEDBED_ANNOUNCE_INTERVAL": &c.Tracker.AnnounceInterval,
		"SEEDBED_SEEDBOX_INTERVAL":  &c.Tracker.SeedboxInterval,
	}
	for name, dst := range durs {
		if v, ok := lookup(name); ok {
			if err := dst.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}

// fillDerived sets defaults that depend on other settings.
func (c *Config) fillDerived() {
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTP.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if len(c.Seedbox.Volumes) == 0 {
		c.Seedbox.Volumes = []Volume{{Name: "default", Path: filepath.Join(c.DataDir, "volumes", "default")}}
	}
	for i := range c.Seedbox.Volumes {
		v := &c.Seedbox.Volumes[i]
		if v.State == "" {
			v.State = "active"
		}
		if v.Reserve == 0 {
			v.Reserve = 1 << 30
		}
		if v.ScrubInterval == 0 {
			v.ScrubInterval = Duration(168 * time.Hour)
		}
	}
	if c.Seedbox.Replicas == 0 {
		c.Seedbox.Replicas = 1
		if len(c.Seedbox.Volumes) >= 2 {
			c.Seedbox.Replicas = 2
		}
	}
}

// Validate reports the first setting that cannot work, saying what to fix.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.DataDir == "" {
		add("data_dir is empty: set it to a writable folder, e.g. ./data")
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		add("http.addr %q is not host:port: %v", c.HTTP.Addr, err)
	}
	if c.Tracker.UDPAddr != "" {
		if _, _, err := net.SplitHostPort(c.Tracker.UDPAddr); err != nil {
			add("tracker.udp_addr %q is not host:port (leave it empty to turn UDP off): %v", c.Tracker.UDPAddr, err)
		}
	}
	if _, _, err := net.SplitHostPort(c.Seedbox.PeerAddr); err != nil {
		add("seedbox.peer_addr %q is not host:port: %v", c.Seedbox.PeerAddr, err)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("public_url %q must be an absolute http(s) URL such as http://seedbed.campus.example", c.PublicURL)
	}
	if c.Tracker.AnnounceInterval.D() < time.Second {
		add("tracker.announce_interval %v is too short: use at least 1s", c.Tracker.AnnounceInterval.D())
	}
	for _, field := range []struct {
		name  string
		cidrs []string
	}{{"http.trusted_proxies", c.HTTP.TrustedProxies}, {"tracker.campus", c.Tracker.Campus}} {
		errs = append(errs, checkCIDRs(field.name, field.cidrs)...)
	}
	errs = append(errs, c.Tracker.validate()...)
	errs = append(errs, c.Seedbox.validate()...)
	switch c.Portal.Registration {
	case "closed", "open", "invite":
	case "domains":
		if len(c.Portal.RegistrationDomains) == 0 {
			add("portal.registration = \"domains\" needs portal.registration_domains")
		}
	default:
		add("portal.registration %q must be closed, open, domains or invite", c.Portal.Registration)
	}
	if c.Retention.LowWater <= 0 || c.Retention.LowWater >= c.Retention.HighWater || c.Retention.HighWater > 1 {
		add("retention: need 0 < low_water (%v) < high_water (%v) <= 1", c.Retention.LowWater, c.Retention.HighWater)
	}
	if c.Retention.Interval.D() < time.Second || c.Retention.MaxSize < 0 || c.Retention.StaleAfter < 0 || c.Retention.MinAge < 0 {
		add("retention: interval (%v) must be at least 1s; max_size, stale_after and min_age must not be negative", c.Retention.Interval.D())
	}
	return errors.Join(errs...)
}

// maxNetworks is how many named networks the tracker tells apart
// (tracker.MaxNetworks).
const maxNetworks = 63

func (t *Tracker) validate() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	names := map[string]bool{}
	for _, n := range t.Networks {
		switch {
		case n.Name == "":
			add("tracker.networks: every network needs a name")
		case names[n.Name]:
			add("tracker.networks: network name %q is used twice", n.Name)
		}
		names[n.Name] = true
		errs = append(errs, checkCIDRs("tracker.networks "+n.Name, n.CIDRs)...)
	}
	if len(t.Networks) > maxNetworks {
		add("tracker.networks: %d networks, at most %d: merge some (a network takes many CIDRs)", len(t.Networks), maxNetworks)
	}
	if t.SubnetPrefixV4 < 1 || t.SubnetPrefixV4 > 32 || t.SubnetPrefixV6 < 1 || t.SubnetPrefixV6 > 128 {
		add("tracker.subnet_prefix_v4 (%d) must be 1..32 and subnet_prefix_v6 (%d) 1..128", t.SubnetPrefixV4, t.SubnetPrefixV6)
	}
	for _, c := range t.AllowedClients {
		if c == "" || len(c) > 20 {
			add("tracker.allowed_clients: %q must be a peer_id prefix of 1 to 20 bytes, such as \"-qB\"", c)
		}
	}
	if err := checkRedisURL(t.RedisURL); err != nil {
		errs = append(errs, err)
	}
	if t.AnnounceRate < 0 || (t.AnnounceRate > 0 && t.AnnounceBurst < 1) {
		add("tracker.announce_rate (%v) must be 0 (no limit) or positive, with announce_burst (%d) at least 1", t.AnnounceRate, t.AnnounceBurst)
	}
	return errs
}

func (s *Seedbox) validate() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Node == "" {
		add("seedbox.node is empty: give this node a name, e.g. node-1")
	}
	names := map[string]bool{}
	for _, v := range s.Volumes {
		switch {
		case v.Name == "":
			add("seedbox.volumes: every volume needs a name")
		case names[v.Name]:
			add("seedbox.volumes: volume name %q is used twice", v.Name)
		case v.Path == "":
			add("seedbox.volumes %s: path is empty", v.Name)
		}
		names[v.Name] = true
		switch v.State {
		case "active", "readonly", "maintenance":
		default:
			add("seedbox.volumes %s: state %q must be active, readonly or maintenance", v.Name, v.State)
		}
	}
	switch s.Placement {
	case "most-free", "round-robin":
	case "forced":
		if !names[s.ForceVolume] {
			add("seedbox.placement is forced but force_volume %q is not a configured volume", s.ForceVolume)
		}
	default:
		add("seedbox.placement %q must be most-free, round-robin or forced", s.Placement)
	}
	if s.ScrubRate < 0 || s.ReplicationRate < 0 || s.CheckInterval.D() < 100*time.Millisecond {
		add("seedbox: scrub_rate and replication_rate must not be negative; check_interval (%v) must be at least 100ms", s.CheckInterval.D())
	}
	if s.UploadRate < 0 {
		add("seedbox.upload_rate (%d) must be 0 (unlimited) or a size per second like \"50MiB\"", s.UploadRate)
	}
	if s.Replicas < 1 {
		add("seedbox.replicas %d must be at least 1", s.Replicas)
	}
	return errs
}

func checkCIDRs(field string, cidrs []string) []error {
	var errs []error
	for _, c := range cidrs {
		if _, err := netip.ParsePrefix(c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a CIDR like 10.1.0.0/16: %w", field, c, err))
		}
	}
	return errs
}

// DatabaseURL returns the catalog URL, defaulting to the SQLite file in the
// data dir.
func (c *Config) DatabaseURL() string {
	if c.Database.URL != "" {
		return c.Database.URL
	}
	return filepath.Join(c.DataDir, "seedbed.db")
}
