package ingest

import (
	"bytes"
	"context"
	"crypto/sha1"
	"os"
	"path/filepath"
	"strings"
	"testing"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

type upFile struct {
	path string
	data []byte
}

func totalSize(files []upFile) int64 {
	var n int64
	for _, f := range files {
		n += int64(len(f.data))
	}
	return n
}

func newTestUpload(t *testing.T, expected int64) *Upload {
	t.Helper()
	u, err := NewUpload(filepath.Join(t.TempDir(), ".staging", "up"), expected)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Abort() })
	return u
}

// upload stages files in the given order and finishes with name.
func upload(t *testing.T, files []upFile, expected int64, name string) (*Upload, *Result) {
	t.Helper()
	u := newTestUpload(t, expected)
	for _, f := range files {
		n, err := u.AddFile(f.path, bytes.NewReader(f.data))
		if err != nil {
			t.Fatalf("AddFile(%q): %v", f.path, err)
		}
		if n != int64(len(f.data)) {
			t.Fatalf("AddFile(%q) wrote %d bytes, want %d", f.path, n, len(f.data))
		}
	}
	res, err := u.Finish(name)
	if err != nil {
		t.Fatalf("Finish(%q): %v", name, err)
	}
	checkResult(t, res)
	checkOnDisk(t, u, res)
	return u, res
}

// checkResult checks that a Result agrees with itself and BEP 3/27.
func checkResult(t *testing.T, res *Result) {
	t.Helper()
	if res.Info.Private == nil || !*res.Info.Private {
		t.Error("info is not private")
	}
	if got := metainfo.HashBytes(bencode.MustMarshal(res.Info)); got != res.InfoHash {
		t.Errorf("infohash %v, want %v from marshalling Info", res.InfoHash, got)
	}
	if got := metainfo.HashBytes(res.InfoBytes); got != res.InfoHash {
		t.Errorf("infohash %v, want %v from InfoBytes", res.InfoHash, got)
	}
	if !bytes.Contains(res.InfoBytes, []byte("7:privatei1e")) {
		t.Errorf("info bytes lack the private flag: %q", res.InfoBytes)
	}
	if res.Info.TotalLength() != res.Size || !bytes.Equal(res.Info.Pieces, res.Pieces) {
		t.Error("Info disagrees with Result")
	}
}

// checkOnDisk checks that Dir holds exactly the torrent at Name, and that
// anacrolix's file storage reads back every piece.
func checkOnDisk(t *testing.T, u *Upload, res *Result) {
	t.Helper()
	entries, err := os.ReadDir(u.Dir())
	if err != nil || len(entries) != 1 || entries[0].Name() != res.Name {
		t.Fatalf("staging dir holds %v (%v), want only %q", entries, err, res.Name)
	}
	for _, f := range res.Files {
		p := filepath.Join(u.Dir(), res.Name)
		if !res.SingleFile {
			p = filepath.Join(p, filepath.Join(f.Path...))
		}
		if fi, err := os.Stat(p); err != nil || fi.Size() != f.Length {
			t.Errorf("%s: %v, want %d bytes", p, err, f.Length)
		}
	}
	checkStorage(t, u.Dir(), res)
}

func checkStorage(t *testing.T, dir string, res *Result) {
	t.Helper()
	st := storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   dir,
		PieceCompletion: storage.NewMapPieceCompletion(),
		UsePartFiles:    g.Some(false),
	})
	defer st.Close()
	tor, err := st.OpenTorrent(context.Background(), &res.Info, res.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	defer tor.Close()
	for i := range res.Info.NumPieces() {
		p := res.Info.Piece(i)
		buf := make([]byte, p.Length())
		if n, err := tor.Piece(p).ReadAt(buf, 0); n != len(buf) {
			t.Fatalf("piece %d: read %d of %d bytes: %v", i, n, len(buf), err)
		}
		if sum := sha1.Sum(buf); !bytes.Equal(sum[:], res.Pieces[i*20:i*20+20]) {
			t.Fatalf("piece %d read from anacrolix storage does not match", i)
		}
	}
}

func writeTree(t *testing.T, root string, files []upFile) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func joinPaths(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, strings.Join(f.Path, "/"))
	}
	return out
}
