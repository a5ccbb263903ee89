package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValidate(t *testing.T) {
	t.Setenv("SEEDBED_DATA_DIR", "")
	os.Unsetenv("SEEDBED_DATA_DIR")
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults must validate: %v", err)
	}
	if cfg.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("public url %q", cfg.PublicURL)
	}
	if len(cfg.Seedbox.Volumes) != 1 || cfg.Seedbox.Replicas != 1 {
		t.Errorf("volumes %+v replicas %d", cfg.Seedbox.Volumes, cfg.Seedbox.Replicas)
	}
}

func TestExampleFileLoads(t *testing.T) {
	cfg, err := Load("seedbed.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Retention.MaxSize != 20<<30 || cfg.Tracker.AnnounceInterval.D() != 30*time.Minute {
		t.Errorf("parsed %+v", cfg.Retention)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	os.WriteFile(path, []byte("data_dir = \"/from/file\"\n[tracker]\nannounce_interval = \"10m\"\n"), 0o600)
	t.Setenv("SEEDBED_DATA_DIR", "/from/env")
	t.Setenv("SEEDBED_ANNOUNCE_INTERVAL", "7s")
	t.Setenv("SEEDBED_HTTP_ADDR", "127.0.0.5:9000")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/env" || cfg.Tracker.AnnounceInterval.D() != 7*time.Second {
		t.Errorf("env did not win: %q %v", cfg.DataDir, cfg.Tracker.AnnounceInterval.D())
	}
	if cfg.PublicURL != "http://127.0.0.5:9000" {
		t.Errorf("public url derived from env addr: %q", cfg.PublicURL)
	}
}

func TestValidateSaysWhatToFix(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"bad addr", func(c *Config) { c.HTTP.Addr = "nope" }, "http.addr"},
		{"bad cidr", func(c *Config) { c.Tracker.Campus = []string{"10.0.0.0/33"} }, "tracker.campus"},
		{"bad state", func(c *Config) { c.Seedbox.Volumes[0].State = "on" }, "state"},
		{"forced unknown", func(c *Config) { c.Seedbox.Placement = "forced"; c.Seedbox.ForceVolume = "x" }, "force_volume"},
		{"water", func(c *Config) { c.Retention.LowWater = 0.95 }, "low_water"},
		{"public url", func(c *Config) { c.PublicURL = "ftp://x" }, "public_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.fillDerived()
			tc.mut(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestUnknownKeyRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte("[tracker]\nanounce_interval = \"10m\"\n"), 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "anounce_interval") {
		t.Fatalf("typo must be reported, got %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"1GiB": 1 << 30, "500MB": 500e6, "1024": 1024, "1.5KiB": 1536} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	if _, err := ParseSize("lots"); err == nil {
		t.Error("garbage size accepted")
	}
}

func TestTrackerPolicyKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte(`[tracker]
allowed_clients = ["-qB", "A2-"]
announce_rate = 2.5
announce_burst = 50
enforce_min_interval = false
[[tracker.networks]]
name = "dorm-a"
cidrs = ["10.1.0.0/16"]
`), 0o600)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Tracker
	if len(tr.AllowedClients) != 2 || tr.AnnounceRate != 2.5 || tr.AnnounceBurst != 50 || tr.EnforceMinInterval || len(tr.Networks) != 1 {
		t.Errorf("tracker section %+v", tr)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
	def := Default()
	if def.Tracker.AnnounceRate != 5 || def.Tracker.AnnounceBurst != 1000 || !def.Tracker.EnforceMinInterval {
		t.Errorf("defaults %+v", def.Tracker)
	}
}

func TestValidateTrackerSection(t *testing.T) {
	many := make([]Network, 64)
	for i := range many {
		many[i] = Network{Name: strings.Repeat("n", i+1), CIDRs: []string{"10.1.0.0/16"}}
	}
	cases := []struct {
		name string
		mut  func(*Tracker)
		want string
	}{
		{"unnamed network", func(c *Tracker) { c.Networks = []Network{{CIDRs: []string{"10.1.0.0/16"}}} }, "needs a name"},
		{"twice", func(c *Tracker) { c.Networks = []Network{{Name: "a"}, {Name: "a"}} }, "used twice"},
		{"bad network cidr", func(c *Tracker) { c.Networks = []Network{{Name: "a", CIDRs: []string{"10.1/16"}}} }, "tracker.networks a"},
		{"too many", func(c *Tracker) { c.Networks = many }, "at most 63"},
		{"subnet", func(c *Tracker) { c.SubnetPrefixV4 = 33 }, "subnet_prefix_v4"},
		{"client", func(c *Tracker) { c.AllowedClients = []string{""} }, "allowed_clients"},
		{"rate", func(c *Tracker) { c.AnnounceRate = -1 }, "announce_rate"},
		{"burst", func(c *Tracker) { c.AnnounceBurst = 0 }, "announce_burst"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.fillDerived()
			tc.mut(&cfg.Tracker)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want mention of %q", err, tc.want)
			}
		})
	}
}
