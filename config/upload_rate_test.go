package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeedboxUploadRate: seedbox.upload_rate takes a size per second like
// the other rate keys, defaults to 0 (unlimited) and refuses a negative one.
func TestSeedboxUploadRate(t *testing.T) {
	def, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if def.Seedbox.UploadRate != 0 {
		t.Errorf("default upload_rate %d, want 0 (unlimited)", def.Seedbox.UploadRate)
	}
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte("[seedbox]\nupload_rate = \"50MiB\"\n"), 0o600)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Seedbox.UploadRate != 50<<20 {
		t.Errorf("upload_rate %d, want %d", cfg.Seedbox.UploadRate, 50<<20)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Seedbox.UploadRate = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "seedbox.upload_rate") {
		t.Errorf("negative upload_rate: %v", err)
	}
}
