package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/internal/testenv"
)

// TestMain stops the throw-away Redis of the peer store tests.
func TestMain(m *testing.M) { testenv.Main(m) }

// forEachSharedCatalog runs fn once with the URL of a fresh SQLite file and
// once with a fresh PostgreSQL database: the catalog several nodes share.
func forEachSharedCatalog(t *testing.T, fn func(t *testing.T, url string)) {
	for _, dialect := range []string{catalog.DialectSQLite, catalog.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			url := "file:" + t.TempDir() + "/shared.db"
			if dialect == catalog.DialectPostgres {
				url = testenv.Postgres(t)
			}
			fn(t, url)
		})
	}
}

// sharedCatalogNode builds a whole seedbox node named name on the shared
// catalog url, with one volume "<name>-vol" whose TOML lines volumeExtra
// adds to (capacity, scrub_interval, …); tune edits the loaded config.
func sharedCatalogNode(t *testing.T, url, name, volumeExtra string, tune func(*config.Config)) *Node {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "seedbed.toml")
	toml := fmt.Sprintf("data_dir = %q\n[database]\nurl = %q\n[seedbox]\nnode = %q\npeer_addr = \"127.0.0.1:0\"\n"+
		"[[seedbox.volumes]]\nname = \"%s-vol\"\npath = %q\nreserve = \"1KiB\"\n%s",
		filepath.Join(dir, "data"), url, name, name, filepath.Join(dir, "vol"), volumeExtra)
	if err := os.WriteFile(cfgFile, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := New(context.Background(), cfg, Parts{Portal: true, Seedbox: true}, log, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}
