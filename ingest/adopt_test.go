package ingest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Adopting finished files gives the same torrent as streaming them, with
// the files moved, not copied.
func TestAdoptFileMatchesAddFile(t *testing.T) {
	files := map[string][]byte{
		"set/a.bin":     bytes.Repeat([]byte("a"), 40_000),
		"set/sub/b.bin": bytes.Repeat([]byte("b"), 70_001),
		"set/z.txt":     {},
	}
	order := []string{"set/a.bin", "set/sub/b.bin", "set/z.txt"}
	var total int64
	for _, b := range files {
		total += int64(len(b))
	}
	dir := t.TempDir()

	streamed, err := NewUpload(filepath.Join(dir, "s"), total)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range order {
		if _, err := streamed.AddFile(p, bytes.NewReader(files[p])); err != nil {
			t.Fatal(err)
		}
	}
	want, err := streamed.Finish("")
	if err != nil {
		t.Fatal(err)
	}

	adopted, err := NewUpload(filepath.Join(dir, "a"), total)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range order {
		src := filepath.Join(dir, "src", string(rune('0'+i)))
		os.MkdirAll(filepath.Dir(src), 0o755)
		if err := os.WriteFile(src, files[p], 0o644); err != nil {
			t.Fatal(err)
		}
		if n, err := adopted.AdoptFile(p, src); err != nil || n != int64(len(files[p])) {
			t.Fatalf("adopt %s: %d %v", p, n, err)
		}
		if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was not moved: %v", src, err)
		}
	}
	got, err := adopted.Finish("")
	if err != nil {
		t.Fatal(err)
	}
	if got.InfoHash != want.InfoHash || got.MD510M != want.MD510M {
		t.Fatalf("adopted %s, streamed %s", got.InfoHash.HexString(), want.InfoHash.HexString())
	}
	b, err := os.ReadFile(filepath.Join(adopted.Dir(), "set", "sub", "b.bin"))
	if err != nil || !bytes.Equal(b, files["set/sub/b.bin"]) {
		t.Errorf("adopted content: %v", err)
	}
}

func TestAdoptFileRefusesBadNames(t *testing.T) {
	dir := t.TempDir()
	up, err := NewUpload(filepath.Join(dir, "u"), 10)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	src := filepath.Join(dir, "src")
	os.WriteFile(src, []byte("0123456789"), 0o644)
	for _, name := range []string{"../escape", "/abs", "a/../../b", ""} {
		if _, err := up.AdoptFile(name, src); !errors.Is(err, ErrBadName) {
			t.Errorf("%q: %v, want ErrBadName", name, err)
		}
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("a refused name moved the file: %v", err)
	}
	if _, err := up.AdoptFile("ok", src); err != nil {
		t.Fatal(err)
	}
	if _, err := up.AdoptFile("ok", src); !errors.Is(err, ErrBadName) {
		t.Errorf("duplicate path: %v", err)
	}
}
