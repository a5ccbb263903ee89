package publish

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSweepUploadsRemovesOnlyAbandoned(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(f.vol.StagingDir(), TusDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	writeData := func(name, data string, mtime time.Time) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string, mtime time.Time) { writeData(name, "x", mtime) }
	// Abandoned: every file old.
	write("1-1-s-aaaa", old)
	write("1-1-s-aaaa.info", old)
	write("1-1-s-aaaa.lock", old)
	// Old record of a finished upload.
	write("1-1-s-bbbb.done", old)
	// Active: the data file moved recently, though its .info is old.
	write("1-1-s-cccc", time.Now())
	write("1-1-s-cccc.info", old)
	// A fresh record.
	write("1-1-s-dddd.done", time.Now())
	// Never got a byte, two hours ago: a creation whose reply was lost.
	twoHours := time.Now().Add(-2 * time.Hour)
	writeData("1-1-s-eeee", "", twoHours)
	write("1-1-s-eeee.info", twoHours)
	// Never got a byte yet, but created a minute ago: kept.
	writeData("1-1-s-ffff", "", time.Now().Add(-time.Minute))
	write("1-1-s-ffff.info", time.Now().Add(-time.Minute))
	// Got bytes two hours ago: within the day it may be resumed.
	write("1-1-s-gggg", twoHours)
	write("1-1-s-gggg.info", twoHours)

	n, err := f.pub.SweepUploads(24 * time.Hour)
	if err != nil || n != 3 {
		t.Fatalf("swept %d, %v; want 3", n, err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"1-1-s-cccc", "1-1-s-cccc.info", "1-1-s-dddd.done", "1-1-s-ffff", "1-1-s-ffff.info", "1-1-s-gggg", "1-1-s-gggg.info"}
	if len(left) != len(want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	for i := range want {
		if left[i] != want[i] {
			t.Fatalf("left %v, want %v", left, want)
		}
	}
	// The start-up sweep of up-* folders leaves the tus folder alone.
	if _, err := f.pub.Sweep(t.Context(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "1-1-s-cccc")); err != nil {
		t.Errorf("Sweep removed an active resumable upload: %v", err)
	}
}
