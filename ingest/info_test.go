package ingest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// TestMatchesAnacrolix builds the same content with metainfo's
// BuildFromFilePath and expects the very same info dict.
func TestMatchesAnacrolix(t *testing.T) {
	tests := []struct {
		name  string
		root  string
		files []upFile
	}{
		{"single", "movie.mkv", []upFile{{"movie.mkv", randBytes(1, 100_000)}}},
		{"multi", "album", []upFile{
			{"album/b.flac", randBytes(2, 40_000)},
			{"album/a/x.txt", randBytes(3, 17)},
			{"album/empty", nil},
			{"album/c/d/e.bin", randBytes(4, 33<<20)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			var ref metainfo.Info
			if err := ref.BuildFromFilePath(filepath.Join(dir, tt.root)); err != nil {
				t.Fatal(err)
			}
			private := true
			ref.Private = &private
			_, res := upload(t, tt.files, totalSize(tt.files), "")
			if ref.PieceLength != res.PieceLength || !bytes.Equal(ref.Pieces, res.Pieces) {
				t.Errorf("piece length %d and pieces differ from anacrolix's %d", res.PieceLength, ref.PieceLength)
			}
			refBytes := bencode.MustMarshal(ref)
			if !bytes.Equal(refBytes, res.InfoBytes) {
				t.Errorf("info bytes\n%q\nwant\n%q", res.InfoBytes, refBytes)
			}
			if ih := metainfo.HashBytes(refBytes); ih != res.InfoHash {
				t.Errorf("infohash %v, want %v", res.InfoHash, ih)
			}
		})
	}
}

// TestGeneratePiecesCanonicalOrder uses names where component-wise order
// ("a" < "a b") differs from sorting joined paths ("a b/x" < "a/x", what
// mktorrent and anacrolix do and we follow), and checks our pieces against
// metainfo's GeneratePieces in that order.
func TestGeneratePiecesCanonicalOrder(t *testing.T) {
	files := []upFile{
		{"r/a b/x", randBytes(5, 20_000)},
		{"r/a/x", randBytes(6, 30_000)},
		{"r/a-c", randBytes(7, 5)},
	}
	u, res := upload(t, files, -1, "")
	if got, want := strings.Join(joinPaths(res.Files), ","), "a b/x,a-c,a/x"; got != want {
		t.Errorf("files in order %s, want %s", got, want)
	}
	info := metainfo.Info{PieceLength: res.PieceLength, Files: res.Info.Files, Name: res.Name}
	root := filepath.Join(u.Dir(), res.Name)
	err := info.GeneratePieces(func(fi metainfo.FileInfo) (io.ReadCloser, error) {
		return os.Open(filepath.Join(root, filepath.Join(fi.Path...)))
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(info.Pieces, res.Pieces) {
		t.Error("pieces differ from GeneratePieces in canonical order")
	}
}

func TestBuildInfoRefuses(t *testing.T) {
	data := []byte("hello")
	good := refSums(data, 16<<10)
	one := []File{{Path: []string{"a"}, Length: 5}}
	tests := []struct {
		name   string
		tname  string
		files  []File
		single bool
		sums   Sums
		want   error
	}{
		{"bad name", "a/b", one, false, good, ErrBadName},
		{"empty name", "", one, true, good, ErrBadName},
		{"dotdot path", "t", []File{{Path: []string{".."}, Length: 5}}, false, good, ErrBadName},
		{"empty path", "t", []File{{Length: 5}}, false, good, ErrBadName},
		{"empty", "t", []File{{Path: []string{"a"}}}, false, Sums{PieceLength: 16 << 10}, ErrEmpty},
		{"two files single", "t", append(one, one...), true, good, nil},
		{"length mismatch", "t", []File{{Path: []string{"a"}, Length: 6}}, false, good, nil},
		{"short pieces", "t", one, false, Sums{Length: 5, PieceLength: 16 << 10}, nil},
		{"no piece length", "t", one, false, Sums{Length: 5, Pieces: good.Pieces}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := BuildInfo(tt.tname, tt.files, tt.single, tt.sums)
			if err == nil {
				t.Fatal("BuildInfo succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v does not wrap %v", err, tt.want)
			}
		})
	}
}

func TestBuildInfoSingle(t *testing.T) {
	data := randBytes(8, 70_000)
	s := refSums(data, PieceLength(int64(len(data))))
	info, b, ih, err := BuildInfo("f.bin", []File{{Path: []string{"f.bin"}, Length: 70_000}}, true, s)
	if err != nil {
		t.Fatal(err)
	}
	if info.Length != 70_000 || info.Files != nil || !*info.Private {
		t.Errorf("info %+v", info)
	}
	if ih != metainfo.HashBytes(bencode.MustMarshal(info)) || ih != metainfo.HashBytes(b) {
		t.Error("infohash is not the hash of the bencoded info")
	}
}
