package seedbox

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// testTorrent is real content stored on a volume in the seedbox layout.
type testTorrent struct {
	ih   string
	info *metainfo.Info
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// storeTorrent writes files (relative path -> content) under a folder
// called name, builds its info dict with anacrolix, and moves it into v.
func storeTorrent(t testing.TB, v Volume, name string, files map[string][]byte, pieceLength int64) testTorrent {
	t.Helper()
	src := filepath.Join(t.TempDir(), name)
	for p, b := range files {
		fp := filepath.Join(src, p)
		if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fp, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info := &metainfo.Info{PieceLength: pieceLength}
	if err := info.BuildFromFilePath(src); err != nil {
		t.Fatal(err)
	}
	b, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	ih := metainfo.HashBytes(b).HexString()
	dir := v.TorrentDir(ih)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(src, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return testTorrent{ih: ih, info: info}
}

func testVolume(t testing.TB, name string) Volume {
	t.Helper()
	v := Volume{ID: uint64(len(name)) + uint64(name[len(name)-1]), Name: name, Path: filepath.Join(t.TempDir(), name), State: StateActive}
	if err := os.MkdirAll(v.StagingDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	return v
}

func flipByte(t testing.TB, path string, off int64, keepMTime bool) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	f.ReadAt(b, off)
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if keepMTime {
		os.Chtimes(path, fi.ModTime(), fi.ModTime())
	}
}

func multiFiles() map[string][]byte {
	return map[string][]byte{
		"a.bin":       randBytes(70_000, 1),
		"sub/b.bin":   randBytes(33_333, 2),
		"sub/c.bin":   randBytes(5, 3),
		"z/empty.txt": {},
	}
}

func TestVerifyFindsBadPiecesAndDamage(t *testing.T) {
	v := testVolume(t, "v1")
	tt := storeTorrent(t, v, "multi", multiFiles(), 16<<10)
	dir := v.TorrentDir(tt.ih)
	ver := &Verifier{Workers: 3}
	ctx := context.Background()

	res, err := ver.Verify(ctx, dir, tt.info)
	if err != nil || !res.OK() || res.Pieces != tt.info.NumPieces() || res.Bytes != tt.info.TotalLength() {
		t.Fatalf("intact replica: %+v, %v", res, err)
	}

	// One flipped byte in the second file: exactly its piece fails.
	off := int64(1000)
	flipByte(t, filepath.Join(dir, "multi", "sub", "b.bin"), off, true)
	res, _ = ver.Verify(ctx, dir, tt.info)
	want := int((70_000 + off) / (16 << 10))
	if !slices.Equal(res.Bad, []int{want}) || res.Damaged {
		t.Fatalf("flipped byte: bad %v damaged %v, want [%d] and no damage", res.Bad, res.Damaged, want)
	}

	// A missing file fails every piece it touches and is damage.
	os.Remove(filepath.Join(dir, "multi", "sub", "c.bin"))
	res, _ = ver.Verify(ctx, dir, tt.info)
	if !res.Damaged || !slices.Contains(res.Bad, (70_000+33_333)/(16<<10)) {
		t.Fatalf("missing file: %+v", res)
	}

	// A missing empty file is damage too, though no piece covers it.
	tt2 := storeTorrent(t, v, "multi2", multiFiles(), 32<<10)
	os.Remove(filepath.Join(v.TorrentDir(tt2.ih), "multi2", "z", "empty.txt"))
	if res, _ := ver.Verify(ctx, v.TorrentDir(tt2.ih), tt2.info); !res.Damaged || len(res.Bad) != 0 {
		t.Fatalf("missing empty file: %+v", res)
	}
}

func TestVerifyRateCap(t *testing.T) {
	v := testVolume(t, "v1")
	tt := storeTorrent(t, v, "one.bin", map[string][]byte{"": randBytes(300<<10, 4)}, 16<<10)
	ver := &Verifier{Limiter: limiter(100 << 10)} // 100 KiB/s: 300 KiB take about 2 s after the burst
	var seen int64
	ver.Progress = func(n int64) { seen += n }
	start := time.Now()
	res, err := ver.Verify(context.Background(), v.TorrentDir(tt.ih), tt.info)
	if err != nil || !res.OK() {
		t.Fatalf("%+v %v", res, err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("300 KiB at 100 KiB/s took %v", el)
	}
	if seen != 300<<10 {
		t.Errorf("progress saw %d bytes, want %d", seen, 300<<10)
	}
}

func TestCopyReplicaIsVerifiedAndAtomic(t *testing.T) {
	src, dst := testVolume(t, "src"), testVolume(t, "dst")
	tt := storeTorrent(t, src, "multi", multiFiles(), 16<<10)
	ctx := context.Background()
	ver := &Verifier{}
	if _, err := CopyReplica(ctx, ver, src.TorrentDir(tt.ih), dst, tt.ih, tt.info); err != nil {
		t.Fatal(err)
	}
	if res, err := ver.Verify(ctx, dst.TorrentDir(tt.ih), tt.info); err != nil || !res.OK() {
		t.Fatalf("copy does not verify: %+v %v", res, err)
	}
	if fi, err := os.Stat(filepath.Join(dst.TorrentDir(tt.ih), "multi", "z", "empty.txt")); err != nil || fi.Size() != 0 {
		t.Fatalf("empty file not copied: %v", err)
	}
	if ents, _ := os.ReadDir(dst.StagingDir()); len(ents) != 0 {
		t.Fatalf("staging not empty after copy: %v", ents)
	}

	// A corrupt source: the copy fails, nothing lands on the target, the
	// old target stays as it was.
	flipByte(t, filepath.Join(src.TorrentDir(tt.ih), "multi", "a.bin"), 5, true)
	dst2 := testVolume(t, "dst2")
	res, err := CopyReplica(ctx, ver, src.TorrentDir(tt.ih), dst2, tt.ih, tt.info)
	if err == nil || len(res.Bad) != 1 {
		t.Fatalf("copy from corrupt source: %+v %v", res, err)
	}
	if _, err := os.Stat(dst2.TorrentDir(tt.ih)); !os.IsNotExist(err) {
		t.Fatalf("corrupt copy landed: %v", err)
	}
	if ents, _ := os.ReadDir(dst2.StagingDir()); len(ents) != 0 {
		t.Fatalf("staging not cleaned: %v", ents)
	}
}

func TestPatchPiecesRepairs(t *testing.T) {
	good, bad := testVolume(t, "good"), testVolume(t, "bad")
	tt := storeTorrent(t, good, "multi", multiFiles(), 16<<10)
	ctx := context.Background()
	ver := &Verifier{}
	if _, err := CopyReplica(ctx, ver, good.TorrentDir(tt.ih), bad, tt.ih, tt.info); err != nil {
		t.Fatal(err)
	}
	flipByte(t, filepath.Join(bad.TorrentDir(tt.ih), "multi", "a.bin"), 69_999, true) // piece spanning two files
	flipByte(t, filepath.Join(bad.TorrentDir(tt.ih), "multi", "sub", "c.bin"), 4, true)
	res, _ := ver.Verify(ctx, bad.TorrentDir(tt.ih), tt.info)
	if len(res.Bad) != 2 || res.Damaged {
		t.Fatalf("want 2 bad pieces: %+v", res)
	}
	if err := patchPieces(ctx, good.TorrentDir(tt.ih), bad.TorrentDir(tt.ih), tt.info, res.Bad); err != nil {
		t.Fatal(err)
	}
	if res, _ := ver.Verify(ctx, bad.TorrentDir(tt.ih), tt.info); !res.OK() {
		t.Fatalf("after patch: %+v", res)
	}
}

func TestCleanStagingRemovesOnlyReplicaCopies(t *testing.T) {
	v := testVolume(t, "v")
	os.MkdirAll(filepath.Join(v.StagingDir(), replicaStagePrefix+"abc-1", "x"), 0o755)
	os.MkdirAll(filepath.Join(v.StagingDir(), "up-123"), 0o755)
	n, err := CleanStaging(v)
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(v.StagingDir(), "up-123")); err != nil {
		t.Fatal("an upload's staging folder was removed")
	}
}

func TestLedgerTrustsOnlyAfterCleanShutdown(t *testing.T) {
	v := testVolume(t, "v")
	tt := storeTorrent(t, v, "one.bin", map[string][]byte{"": randBytes(40_000, 5)}, 16<<10)
	files := torrentFiles(v.TorrentDir(tt.ih), tt.info)

	l, err := OpenLedger(v.Path)
	if err != nil || l.WasClean() {
		t.Fatalf("first open: clean=%v %v", l.WasClean(), err)
	}
	if err := l.Record(tt.ih, files); err != nil {
		t.Fatal(err)
	}
	if !l.Trusted(tt.ih, files) {
		t.Fatal("a replica recorded in this run is not trusted")
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	// Crash: flushed but never closed. The next run trusts nothing.
	l2, _ := OpenLedger(v.Path)
	if l2.WasClean() || l2.Trusted(tt.ih, files) {
		t.Fatal("ledger trusted after an unclean shutdown")
	}
	l2.Record(tt.ih, files)
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	l3, _ := OpenLedger(v.Path)
	if !l3.WasClean() || !l3.Trusted(tt.ih, files) {
		t.Fatal("ledger not trusted after a clean shutdown")
	}
	// Opening removed the marker: a crash now is unclean again.
	if l4, _ := OpenLedger(v.Path); l4.WasClean() {
		t.Fatal("clean marker survived an open")
	}
	l3.Close()
	// A changed modification time is not trusted.
	os.Chtimes(files[0].path, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	if l5, _ := OpenLedger(v.Path); l5.Trusted(tt.ih, files) {
		t.Fatal("a file with a new mtime is trusted")
	}
}
