package e2e

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedbed/seedbed/internal/testenv"
)

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// sameContent checks that dest holds files byte for byte. Transmission does
// not create zero-length files, so allowMissingEmpty tolerates their absence.
func sameContent(t *testing.T, dest string, files map[string][]byte, allowMissingEmpty bool) {
	t.Helper()
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(p)))
		if err != nil {
			if allowMissingEmpty && len(want) == 0 && os.IsNotExist(err) {
				continue
			}
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: content differs (%d bytes, want %d)", p, len(got), len(want))
		}
	}
}

// TestWholeLoop is the product's first promise: upload a file or a folder,
// get a seed link, download it with any BitTorrent client from the seedbox.
func TestWholeLoop(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			testenv.Need(t, "aria2c", "aria2")
			testenv.Need(t, "transmission-daemon", "transmission-daemon")
			url := ""
			if db == "postgres" {
				url = testenv.Postgres(t)
			}
			n := startNode(t, nodeOptions{databaseURL: url})
			defer func() {
				if t.Failed() {
					n.dumpLog()
				}
			}()
			runLoop(t, n)
		})
	}
}

func runLoop(t *testing.T, n *node) {
	token := n.addUser("alice", true)
	single := map[string][]byte{"lecture-01.bin": randomBytes(64<<20, 1)}
	folder := map[string][]byte{
		"Course Pack/readme.md":               []byte("# Week one\n"),
		"Course Pack/notes/ü-week1.txt":       randomBytes(300_000, 2),
		"Course Pack/notes/empty.txt":         {},
		"Course Pack/slides/日本語 slides.pdf":   randomBytes(3<<20+17, 3),
		"Course Pack/slides/deep/er/data.csv": randomBytes(70_001, 4),
	}

	start := time.Now()
	one, code := n.upload(token, single, map[string]string{"title": "Lecture 1"})
	if code != 201 || one.Size != 64<<20 || len(one.InfoHash) != 40 || len(one.MD510M) != 32 {
		t.Fatalf("single upload: HTTP %d %+v", code, one)
	}
	t.Logf("64 MiB upload to seed link in %v", time.Since(start))
	dir, code := n.upload(token, folder, nil)
	if code != 201 || dir.Name != "Course Pack" || len(dir.Files) != len(folder) {
		t.Fatalf("folder upload: HTTP %d %+v", code, dir)
	}
	if len(one.Replicas) != 1 || one.Replicas[0].State != "verified" {
		t.Errorf("replicas %+v", one.Replicas)
	}

	// The same bytes under another name land on the existing torrent.
	dup, code := n.upload(token, map[string][]byte{"copy of lecture.bin": single["lecture-01.bin"]}, nil)
	if code != 200 || !dup.Duplicate || dup.InfoHash != one.InfoHash {
		t.Fatalf("duplicate upload: HTTP %d %+v", code, dup)
	}
	if entries, _ := filepath.Glob(filepath.Join(n.dir, "data", "volumes", "default", "??", "*")); len(entries) != 2 {
		t.Errorf("want 2 stored torrents after a duplicate upload, found %v", entries)
	}
	if st, _ := os.ReadDir(filepath.Join(n.dir, "data", "volumes", "default", ".staging")); len(st) != 0 {
		t.Errorf("staging area not empty: %v", st)
	}

	for _, tc := range []struct {
		name  string
		obj   torrentObject
		files map[string][]byte
	}{{"single", one, single}, {"folder", dir, folder}} {
		t.Run(tc.name, func(t *testing.T) {
			torrent, code := n.get(token, n.url+"/torrents/"+tc.obj.InfoHash+".torrent")
			if code != 200 {
				t.Fatalf(".torrent: HTTP %d %s", code, torrent)
			}
			peersOnly := withoutWebSeeds(t, torrent)

			dest := t.TempDir()
			aria2Download(t, peersOnly, dest, aria2Options{iface: "127.0.0.11"})
			sameContent(t, dest, tc.files, false)

			dest = t.TempDir()
			aria2Download(t, torrent, dest, aria2Options{iface: "127.0.0.13", webSeedOnly: true})
			sameContent(t, dest, tc.files, false)

			dest = t.TempDir()
			tr := startTransmission(t, "127.0.0.12", dest)
			tr.download(peersOnly, 3*time.Minute)
			sameContent(t, dest, tc.files, true)
		})
	}
}
