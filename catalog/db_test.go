package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
		file    string // must exist afterwards
	}{
		{name: "default file in data dir", opts: Options{DataDir: filepath.Join(dir, "new", "data")}, file: filepath.Join(dir, "new", "data", "seedbed.db")},
		{name: "plain path", opts: Options{URL: filepath.Join(dir, "plain.db")}, file: filepath.Join(dir, "plain.db")},
		{name: "file URI with params", opts: Options{URL: "file:" + filepath.Join(dir, "uri.db") + "?cache=private"}, file: filepath.Join(dir, "uri.db")},
		{name: "in memory", opts: Options{URL: ":memory:"}},
		{name: "unsupported scheme", opts: Options{URL: "mysql://u:secret@h/db"}, wantErr: true},
		{name: "nothing set", opts: Options{}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Open(ctx, tt.opts)
			if tt.wantErr {
				if err == nil {
					c.Close()
					t.Fatal("Open succeeded, want an error")
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer c.Close()
			if c.Dialect() != DialectSQLite {
				t.Fatalf("Dialect = %q", c.Dialect())
			}
			if err := c.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			// Writes are visible to reads (one database even in memory).
			u, err := c.CreateUser(ctx, "someone", "12345678", RoleUser)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.UserByID(ctx, u.ID); err != nil {
				t.Fatalf("UserByID after CreateUser: %v", err)
			}
			if tt.file != "" {
				if _, err := os.Stat(tt.file); err != nil {
					t.Fatalf("database file: %v", err)
				}
			}
		})
	}
}

func TestSQLiteDSN(t *testing.T) {
	dsn, memory := sqliteDSN("file:/x/y.db?_busy_timeout=1&cache=shared", sqliteParams, nil)
	if memory || !strings.HasPrefix(dsn, "file:/x/y.db?") || !strings.Contains(dsn, "_busy_timeout=5000") ||
		!strings.Contains(dsn, "cache=shared") || !strings.Contains(dsn, "_txlock=immediate") {
		t.Fatalf("sqliteDSN = %q, %v", dsn, memory)
	}
	dsn, _ = sqliteDSN("/x/y.db?_txlock=immediate", map[string]string{"_query_only": "1"}, []string{"_txlock"})
	if dsn != "/x/y.db?_query_only=1" {
		t.Fatalf("reader sqliteDSN = %q", dsn)
	}
	for _, raw := range []string{":memory:", "file::memory:?cache=shared", "file:x?mode=memory"} {
		if _, memory := sqliteDSN(raw, nil, nil); !memory {
			t.Errorf("sqliteDSN(%q) is not in memory", raw)
		}
	}
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	versions := map[string][]string{}
	for _, d := range dialects {
		steps, err := loadMigrations(d)
		if err != nil || len(steps) == 0 {
			t.Fatalf("loadMigrations(%s) = %d steps, %v", d, len(steps), err)
		}
		for _, s := range steps {
			versions[d] = append(versions[d], s.name)
		}
	}
	if fmt.Sprint(versions[DialectSQLite]) != fmt.Sprint(versions[DialectPostgres]) {
		t.Fatalf("migrations differ: sqlite %v, postgres %v", versions[DialectSQLite], versions[DialectPostgres])
	}
}

// TestMigrationsIdempotentAndConcurrent opens one database from several
// goroutines at once (as several processes starting together would), then
// again: every step is applied exactly once.
func TestMigrationsIdempotentAndConcurrent(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			url := testURL(t, d)
			steps, _ := loadMigrations(d)
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for range 4 {
				wg.Go(func() {
					c, err := Open(context.Background(), Options{URL: url, Logger: testLogger(t)})
					if err == nil {
						err = c.Close()
					}
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("concurrent Open: %v", err)
				}
			}
			c := openTest(t, url) // and once more, after the fact
			if n := count(t, c, "schema_migrations"); n != int64(len(steps)) {
				t.Fatalf("schema_migrations has %d rows, want %d", n, len(steps))
			}
			v, err := c.SchemaVersion(context.Background())
			if err != nil || v != steps[len(steps)-1].version {
				t.Fatalf("SchemaVersion = %d, %v", v, err)
			}
			if _, err := c.CreateUser(context.Background(), "after", "12345678", RoleUser); err != nil {
				t.Fatalf("CreateUser after migrating: %v", err)
			}
		})
	}
}

// TestSQLiteConcurrentWriters: many goroutines, and a second handle on the
// same file (as a second process would have), write at once without
// "database is locked".
func TestSQLiteConcurrentWriters(t *testing.T) {
	url := testURL(t, DialectSQLite)
	c1, c2 := openTest(t, url), openTest(t, url)
	ctx := context.Background()
	owner := mustUser(t, c1, RoleUser)
	tor := mustTorrent(t, c1, owner.ID, mustVolume(t, c1, "v"), "shared", 100)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		c := []*Catalog{c1, c2}[i%2]
		wg.Go(func() {
			u, err := c.CreateUser(ctx, fmt.Sprintf("writer%d", i), "12345678", RoleUser)
			if err == nil {
				_, err = c.RotatePasskey(ctx, u.ID)
			}
			if err == nil {
				err = c.ApplyStats(ctx, []StatDelta{{UserID: u.ID, TorrentID: tor.ID, Downloaded: 100, Completed: true}})
			}
			if err == nil {
				_, err = c.UserByName(ctx, u.Name)
			}
			errs <- err
		})
		wg.Go(func() {
			_, _, err := c.ListTorrents(ctx, ListQuery{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent write: %v", err)
		}
	}
	if n, err := c2.CountUsers(ctx); err != nil || n != 21 {
		t.Fatalf("CountUsers = %d, %v; want 21", n, err)
	}
	got, err := c2.TorrentByInfoHash(ctx, tor.InfoHash)
	if err != nil || got.Snatches != 20 {
		t.Fatalf("snatches = %d, %v; want 20", got.Snatches, err)
	}
}
