package catalog

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/seedbed/seedbed/internal/testenv"
)

func TestMain(m *testing.M) {
	// Cheap hashes: the tests create many users under the race detector.
	argonDefault = argonParams{memory: 64, time: 1, threads: 1, keyLen: 32, saltLen: 16}
	testenv.Main(m)
}

var dialects = []string{DialectSQLite, DialectPostgres}

// forEachDialect runs fn against a fresh, migrated catalog on SQLite (in a
// temp dir) and on PostgreSQL (a new database in the shared test cluster).
func forEachDialect(t *testing.T, fn func(t *testing.T, c *Catalog)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, openTest(t, testURL(t, d)))
		})
	}
}

// testURL returns a URL for a fresh database of the dialect.
func testURL(t *testing.T, dialect string) string {
	t.Helper()
	if dialect == DialectPostgres {
		return testenv.Postgres(t)
	}
	return "file:" + t.TempDir() + "/seedbed.db"
}

// openTest opens a catalog that is closed when the test ends.
func openTest(t *testing.T, url string) *Catalog {
	t.Helper()
	c, err := Open(context.Background(), Options{URL: url, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

var userSeq atomic.Int64

// mustUser creates a user with the password "password123".
func mustUser(t *testing.T, c *Catalog, role Role) *User {
	t.Helper()
	u, err := c.CreateUser(context.Background(), fmt.Sprintf("user%d", userSeq.Add(1)), "password123", role)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// mustVolume creates a volume on node n1.
func mustVolume(t *testing.T, c *Catalog, name string) *Volume {
	t.Helper()
	v, err := c.UpsertVolume(context.Background(), Volume{Name: name, Path: "/srv/" + name, Node: "n1"})
	if err != nil {
		t.Fatalf("UpsertVolume: %v", err)
	}
	return v
}

// testTorrent builds a valid two-file torrent; seed makes the infohash and
// piece hashes unique.
func testTorrent(uploader uint64, seed string, size int64) *Torrent {
	const pieceLen = 16 << 10
	var pieces []byte
	for i := int64(0); i < (size+pieceLen-1)/pieceLen; i++ {
		h := sha1.Sum(fmt.Appendf(nil, "%s/%d", seed, i))
		pieces = append(pieces, h[:]...)
	}
	ih := sha1.Sum([]byte("info:" + seed))
	md5 := sha256.Sum256([]byte("md5:" + seed))
	return &Torrent{
		InfoHash: hex.EncodeToString(ih[:]), Name: seed, Category: "misc", Size: size,
		MD510M: hex.EncodeToString(md5[:16]), PieceLength: pieceLen, Pieces: pieces,
		InfoBytes: fmt.Appendf(nil, "d4:name%d:%se", len(seed), seed), UploaderID: uploader,
		Files: []File{{Path: "a/one.bin", Size: size / 2}, {Path: "two.bin", Size: size - size/2}},
	}
}

// mustTorrent stores testTorrent with a verified replica on vol.
func mustTorrent(t *testing.T, c *Catalog, uploader uint64, vol *Volume, seed string, size int64) *Torrent {
	t.Helper()
	tor := testTorrent(uploader, seed, size)
	if err := c.CreateTorrent(context.Background(), tor, Replica{VolumeID: vol.ID, Node: vol.Node, State: ReplicaVerified}); err != nil {
		t.Fatalf("CreateTorrent(%s): %v", seed, err)
	}
	return tor
}

// count returns SELECT COUNT(*) of a table.
func count(t *testing.T, c *Catalog, table string) int64 {
	t.Helper()
	var n int64
	if err := c.w.Raw("SELECT COUNT(*) FROM " + table).Scan(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
