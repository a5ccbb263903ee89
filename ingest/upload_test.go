package ingest

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestUploadSingleFile(t *testing.T) {
	data := randBytes(10, 50_000)
	files := []upFile{{"report.pdf", data}}
	for _, name := range []string{"", "report.pdf", "renamed.pdf"} {
		t.Run("name="+name, func(t *testing.T) {
			u, res := upload(t, files, int64(len(data)), name)
			wantName := cmp.Or(name, "report.pdf")
			if !res.SingleFile || res.Name != wantName || res.Size != 50_000 {
				t.Errorf("result %q single=%v size=%d", res.Name, res.SingleFile, res.Size)
			}
			if len(res.Files) != 1 || !slices.Equal(res.Files[0].Path, []string{wantName}) {
				t.Errorf("files %+v", res.Files)
			}
			checkResultSums(t, res, data)
			got, err := os.ReadFile(filepath.Join(u.Dir(), res.Name))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("content on disk differs: %v", err)
			}
		})
	}
}

func TestUploadNestedUnicode(t *testing.T) {
	files := []upFile{
		{"Фото 2024/日本/ファイル.jpg", randBytes(11, 30_000)},
		{"Фото 2024/empty.txt", nil},
		{`Фото 2024\Ünï\ça.bin`, randBytes(12, 20_000)},
	}
	_, res := upload(t, files, totalSize(files), "")
	if res.SingleFile || res.Name != "Фото 2024" {
		t.Errorf("name %q single=%v", res.Name, res.SingleFile)
	}
	if got, want := joinPaths(res.Files), []string{"empty.txt", "Ünï/ça.bin", "日本/ファイル.jpg"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	checkResultSums(t, res, slices.Concat(files[2].data, files[0].data))
}

// checkResultSums compares a Result with the reference sums of its stream.
func checkResultSums(t *testing.T, res *Result, stream []byte) {
	t.Helper()
	want := refSums(stream, PieceLength(int64(len(stream))))
	if res.Size != want.Length || res.PieceLength != want.PieceLength || !bytes.Equal(res.Pieces, want.Pieces) {
		t.Errorf("size %d, piece length %d or pieces differ from the reference", res.Size, res.PieceLength)
	}
	if res.MD510M != hex.EncodeToString(want.MD510M[:]) {
		t.Errorf("md5 %s, want %x", res.MD510M, want.MD510M)
	}
}

func shuffledUploads() (canonical []upFile, others map[string][]upFile) {
	a, b, c := randBytes(20, 25_000), randBytes(21, 1), randBytes(22, 40_000)
	canonical = []upFile{{"d/a", a}, {"d/b/x", b}, {"d/c", c}, {"d/z", nil}}
	return canonical, map[string][]upFile{
		"reversed":    {{"d/z", nil}, {"d/c", c}, {"d/b/x", b}, {"d/a", a}},
		"shuffled":    {{"d/b/x", b}, {"d/a", a}, {"d/z", nil}, {"d/c", c}},
		"empty first": {{"d/z", nil}, {"d/a", a}, {"d/b/x", b}, {"d/c", c}},
	}
}

func TestUploadArrivalOrder(t *testing.T) {
	canonical, others := shuffledUploads()
	_, want := upload(t, canonical, totalSize(canonical), "")
	for name, files := range others {
		t.Run(name, func(t *testing.T) {
			_, got := upload(t, files, totalSize(files), "")
			if got.InfoHash != want.InfoHash || got.MD510M != want.MD510M {
				t.Errorf("infohash %v md5 %s, want %v %s", got.InfoHash, got.MD510M, want.InfoHash, want.MD510M)
			}
		})
	}
}

func TestUploadExpectedTotal(t *testing.T) {
	files := []upFile{
		{"big/a", randBytes(30, 20<<20)},
		{"big/b", randBytes(31, 12<<20+5000)},
	}
	total := totalSize(files)
	_, want := upload(t, files, total, "")
	if want.PieceLength != 32<<10 {
		t.Fatalf("piece length %d, want 32 KiB", want.PieceLength)
	}
	for _, expected := range []int64{-1, 0, 1, total + 300, 200 << 20} {
		_, got := upload(t, files, expected, "")
		if got.InfoHash != want.InfoHash || got.MD510M != want.MD510M {
			t.Errorf("expected total %d: infohash %v, want %v", expected, got.InfoHash, want.InfoHash)
		}
	}
}

func TestUploadSameBytesOtherName(t *testing.T) {
	data := randBytes(40, 90_000)
	_, a := upload(t, []upFile{{"a.iso", data}}, -1, "")
	_, b := upload(t, []upFile{{"b.iso", data}}, -1, "")
	_, c := upload(t, []upFile{{"x/a.iso", data}}, -1, "")
	for _, r := range []*Result{b, c} {
		if !bytes.Equal(r.Pieces, a.Pieces) || r.MD510M != a.MD510M || r.InfoHash == a.InfoHash {
			t.Errorf("%s: want same pieces and md5, another infohash", r.Name)
		}
	}
}

func TestUploadSharedPrefix(t *testing.T) {
	prefix := randBytes(50, DedupePrefix)
	one := slices.Concat(prefix, randBytes(51, 100_000))
	two := slices.Concat(prefix, randBytes(52, 100_000))
	_, a := upload(t, []upFile{{"v.mkv", one}}, -1, "")
	_, b := upload(t, []upFile{{"v.mkv", two}}, -1, "")
	if a.MD510M != b.MD510M {
		t.Error("md5 of the shared 10 MiB differs")
	}
	if bytes.Equal(a.Pieces, b.Pieces) {
		t.Error("different content gave the same pieces")
	}
}

func TestUploadRefusesNames(t *testing.T) {
	u := newTestUpload(t, -1)
	for _, name := range []string{"../evil", "a/../../evil", `..\evil`, "/etc/evil", "C:/evil", "", "a\x00b"} {
		if _, err := u.AddFile(name, strings.NewReader("x")); !errors.Is(err, ErrBadName) {
			t.Errorf("AddFile(%q): %v, want ErrBadName", name, err)
		}
	}
	mustAdd(t, u, "a/b", "1")
	for _, name := range []string{"a/b", "a", "a/b/c", `a\b`} {
		if _, err := u.AddFile(name, strings.NewReader("x")); !errors.Is(err, ErrBadName) {
			t.Errorf("AddFile(%q) after a/b: %v, want ErrBadName", name, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(u.Dir()))
	if len(entries) != 1 {
		t.Errorf("files next to the staging dir: %v", entries)
	}
	if res, err := u.Finish(""); err != nil || res.Name != "a" {
		t.Fatalf("Finish after refused names: %v", err)
	}
}

func mustAdd(t *testing.T, u *Upload, name, data string) {
	t.Helper()
	if _, err := u.AddFile(name, strings.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

func TestUploadFinishNames(t *testing.T) {
	u := newTestUpload(t, -1)
	mustAdd(t, u, "a.txt", "aaa")
	mustAdd(t, u, "b/c.txt", "ccc")
	if _, err := u.Finish(""); !errors.Is(err, ErrBadName) {
		t.Fatalf("Finish without a name: %v, want ErrBadName", err)
	}
	for _, bad := range []string{"x/y", "..", ".", "-", "a\x00"} {
		if _, err := u.Finish(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("Finish(%q): %v, want ErrBadName", bad, err)
		}
	}
	if _, err := u.AddFile("late", strings.NewReader("x")); err == nil {
		t.Error("AddFile after Finish succeeded")
	}
	res, err := u.Finish("a.txt") // the name of a staged file becomes the root folder
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res)
	checkOnDisk(t, u, res)
	if got := joinPaths(res.Files); !slices.Equal(got, []string{"a.txt", "b/c.txt"}) {
		t.Errorf("files %q", got)
	}
	if _, err := u.Finish("again"); err == nil {
		t.Error("second Finish succeeded")
	}
}

func TestUploadRenameRoot(t *testing.T) {
	files := []upFile{{"up/x", []byte("xx")}, {"up/y", []byte("yy")}}
	_, res := upload(t, files, -1, "Renamed")
	if res.Name != "Renamed" || !slices.Equal(joinPaths(res.Files), []string{"x", "y"}) {
		t.Errorf("name %q files %q", res.Name, joinPaths(res.Files))
	}
}

func TestUploadReservedName(t *testing.T) {
	u := newTestUpload(t, -1)
	mustAdd(t, u, "-", "dash")
	if _, err := u.Finish(""); !errors.Is(err, ErrBadName) {
		t.Fatalf("Finish of a file named -: %v, want ErrBadName", err)
	}
	res, err := u.Finish("dash.txt")
	if err != nil {
		t.Fatal(err)
	}
	checkOnDisk(t, u, res)
}

func TestUploadEmpty(t *testing.T) {
	u := newTestUpload(t, -1)
	if _, err := u.Finish("n"); !errors.Is(err, ErrEmpty) {
		t.Errorf("Finish without files: %v, want ErrEmpty", err)
	}
	u = newTestUpload(t, -1)
	mustAdd(t, u, "d/a", "")
	mustAdd(t, u, "d/b", "")
	if _, err := u.Finish(""); !errors.Is(err, ErrEmpty) {
		t.Errorf("Finish with empty files: %v, want ErrEmpty", err)
	}
}

func TestUploadReadError(t *testing.T) {
	u := newTestUpload(t, -1)
	r := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := u.AddFile("a", r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("AddFile: %v, want the reader's error", err)
	}
	if _, err := u.AddFile("b", strings.NewReader("x")); err == nil {
		t.Error("AddFile after a failed one succeeded")
	}
	if _, err := u.Finish("n"); err == nil {
		t.Error("Finish after a failed AddFile succeeded")
	}
	if err := u.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(u.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging dir left after Abort: %v", err)
	}
}

func TestUploadAbort(t *testing.T) {
	u := newTestUpload(t, -1)
	mustAdd(t, u, "d/e/f", "data")
	for i := range 2 {
		if err := u.Abort(); err != nil {
			t.Fatalf("Abort #%d: %v", i+1, err)
		}
		if _, err := os.Stat(u.Dir()); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("staging dir left after Abort: %v", err)
		}
	}
	if _, err := u.AddFile("x", strings.NewReader("x")); err == nil {
		t.Error("AddFile after Abort succeeded")
	}

	done, _ := upload(t, []upFile{{"f", []byte("content")}}, -1, "")
	if err := done.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(done.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging dir left after Finish and Abort: %v", err)
	}
}

func TestNewUploadExistingDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewUpload(dir, -1); err == nil {
		t.Error("NewUpload on an existing dir succeeded")
	}
}
