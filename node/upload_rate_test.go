package node

import (
	"context"
	"log/slog"
	"testing"

	"golang.org/x/time/rate"

	"github.com/seedbed/seedbed/config"
)

// TestSeedboxUploadRateFromConfig: seedbox.upload_rate becomes the seeding
// client's upload limiter; 0 leaves it unlimited.
func TestSeedboxUploadRateFromConfig(t *testing.T) {
	for _, tc := range []struct {
		rate config.Size
		want rate.Limit
	}{{50 << 20, 50 << 20}, {0, rate.Inf}} {
		t.Setenv("SEEDBED_DATA_DIR", t.TempDir())
		t.Setenv("SEEDBED_PEER_ADDR", "127.0.0.1:0")
		cfg, err := config.Load("")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Seedbox.UploadRate = tc.rate
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		n, err := New(context.Background(), cfg, Parts{Seedbox: true}, slog.New(slog.DiscardHandler), "test")
		if err != nil {
			t.Fatal(err)
		}
		got := n.Seeder.UploadLimit()
		n.Close()
		if got != tc.want {
			t.Errorf("upload_rate %d: the seeding client's limit is %v, want %v", tc.rate, got, tc.want)
		}
	}
}
