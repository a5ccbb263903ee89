package publish

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/ingest"
	"github.com/seedbed/seedbed/seedbox"
)

type fixture struct {
	pub  *Publisher
	vol  seedbox.Volume
	user uint64
	got  []string // infohashes passed to Published
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, catalog.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	row, err := cat.UpsertVolume(ctx, catalog.Volume{Name: "v1", Path: filepath.Join(dir, "v1"), Node: "n1", State: "active"})
	if err != nil {
		t.Fatal(err)
	}
	vol := seedbox.Volume{ID: row.ID, Name: "v1", Path: row.Path, State: "active"}
	vols, err := seedbox.NewVolumes([]seedbox.Volume{vol}, seedbox.PlaceMostFree, "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := cat.CreateUser(ctx, "alice", "password123", "user")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{vol: vol, user: u.ID}
	f.pub = &Publisher{Catalog: cat, Volumes: vols, Node: "n1", Logger: slog.Default(),
		Published: func(t *catalog.Torrent, _ seedbox.Volume) { f.got = append(f.got, t.InfoHash) }}
	return f
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

type file struct {
	path string
	data []byte
}

func (f *fixture) publish(t *testing.T, files ...file) Outcome {
	t.Helper()
	st, err := f.pub.Begin(-1)
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range files {
		if _, err := st.AddFile(fl.path, bytes.NewReader(fl.data)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := f.pub.Commit(context.Background(), st, Meta{UploaderID: f.user})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) stored(t *testing.T) int {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(f.vol.Path, "??", "*"))
	st, _ := os.ReadDir(f.vol.StagingDir())
	if len(st) != 0 {
		t.Errorf("staging left behind: %v", st)
	}
	return len(m)
}

func TestDedupe(t *testing.T) {
	big := randBytes(12<<20, 1)
	t.Run("same bytes under another name", func(t *testing.T) {
		f := newFixture(t)
		a := f.publish(t, file{"a.bin", big})
		b := f.publish(t, file{"renamed.iso", big})
		if a.Duplicate || !b.Duplicate || a.Torrent.InfoHash != b.Torrent.InfoHash {
			t.Fatalf("a=%+v b=%+v", a, b)
		}
		if n := f.stored(t); n != 1 || len(f.got) != 1 {
			t.Errorf("stored %d torrents, published %d; want 1 and 1", n, len(f.got))
		}
	})
	t.Run("same first 10 MiB, different tail", func(t *testing.T) {
		f := newFixture(t)
		other := bytes.Clone(big)
		other[len(other)-1] ^= 0xff
		a := f.publish(t, file{"a.bin", big})
		b := f.publish(t, file{"a.bin", other})
		if b.Duplicate || a.Torrent.MD510M != b.Torrent.MD510M || a.Torrent.InfoHash == b.Torrent.InfoHash {
			t.Fatalf("want two torrents sharing md5_10m: a=%s b=%s dup=%v", a.Torrent.InfoHash, b.Torrent.InfoHash, b.Duplicate)
		}
		if n := f.stored(t); n != 2 {
			t.Errorf("stored %d, want 2", n)
		}
	})
	t.Run("folder as a whole", func(t *testing.T) {
		f := newFixture(t)
		x, y := randBytes(1<<20, 2), randBytes(3<<20, 3)
		a := f.publish(t, file{"pack/x.bin", x}, file{"pack/sub/y.bin", y}, file{"pack/empty", nil})
		// Same folder, files sent in another order and under another folder name.
		b := f.publish(t, file{"copy/sub/y.bin", y}, file{"copy/empty", nil}, file{"copy/x.bin", x})
		if !b.Duplicate || b.Torrent.InfoHash != a.Torrent.InfoHash {
			t.Fatalf("folder not deduped: %+v", b)
		}
		// One file changed: a new torrent.
		c := f.publish(t, file{"pack/x.bin", x}, file{"pack/sub/y.bin", randBytes(3<<20, 4)}, file{"pack/empty", nil})
		if c.Duplicate {
			t.Fatal("a changed folder must not be a duplicate")
		}
		if len(a.Torrent.Files) != 3 {
			t.Errorf("files %+v", a.Torrent.Files)
		}
	})
}

func TestCommitFailureLeavesNothing(t *testing.T) {
	f := newFixture(t)
	st, err := f.pub.Begin(-1)
	if err != nil {
		t.Fatal(err)
	}
	st.AddFile("../escape", bytes.NewReader([]byte("x")))
	if _, err := f.pub.Commit(context.Background(), st, Meta{UploaderID: f.user}); err == nil {
		// An upload whose only file was refused has nothing to commit.
		t.Fatal("commit of an empty upload succeeded")
	}
	// A registration that fails (unknown uploader) removes the moved content.
	st, _ = f.pub.Begin(-1)
	st.AddFile("ok.bin", bytes.NewReader(randBytes(1000, 5)))
	_, err = f.pub.Commit(context.Background(), st, Meta{UploaderID: 999999})
	if err == nil {
		t.Fatal("commit with an unknown uploader succeeded")
	}
	if n := f.stored(t); n != 0 {
		t.Errorf("%d content folders left after a failed commit", n)
	}
	if errors.Is(err, ingest.ErrBadName) {
		t.Errorf("unexpected error kind %v", err)
	}
}

func TestSweepRemovesLeftovers(t *testing.T) {
	f := newFixture(t)
	os.MkdirAll(filepath.Join(f.vol.StagingDir(), stagePrefix+"dead"), 0o755)
	orphan := f.vol.TorrentDir("0123456789abcdef0123456789abcdef01234567")
	os.MkdirAll(orphan, 0o755)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(orphan, old, old)
	kept := f.publish(t, file{"keep.bin", randBytes(5000, 6)})
	n, err := f.pub.Sweep(context.Background(), 10*time.Minute)
	if err != nil || n != 2 {
		t.Fatalf("sweep removed %d (%v), want 2", n, err)
	}
	if _, err := os.Stat(f.vol.TorrentDir(kept.Torrent.InfoHash)); err != nil {
		t.Errorf("sweep removed a registered torrent: %v", err)
	}
}

// TestLeftoverAtFinalPathIsReplaced: a crash between the move and the commit
// left a folder at the final path with no catalog row; the next upload of
// that content replaces it and registers cleanly.
func TestLeftoverAtFinalPathIsReplaced(t *testing.T) {
	data := randBytes(70_000, 9)
	probe := newFixture(t).publish(t, file{"x.bin", data})
	f := newFixture(t)
	final := f.vol.TorrentDir(probe.Torrent.InfoHash)
	os.MkdirAll(final, 0o755)
	os.WriteFile(filepath.Join(final, "x.bin"), []byte("half-written junk"), 0o644)
	out := f.publish(t, file{"x.bin", data})
	if out.Duplicate || out.Torrent.InfoHash != probe.Torrent.InfoHash {
		t.Fatalf("got %+v", out)
	}
	got, err := os.ReadFile(filepath.Join(final, "x.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("content at the final path is not the upload: %v", err)
	}
}
