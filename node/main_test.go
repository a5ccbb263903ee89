package node

import (
	"testing"

	"github.com/seedbed/seedbed/catalog"
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
