package seedbox

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// TestPieceTrustUntilFileChanges: a piece is hashed on its first read only;
// it stays trusted while its file is unchanged, is hashed again once its
// file was written (even with the modification time put back), and after
// Forget; a piece of another file keeps its trust.
func TestPieceTrustUntilFileChanges(t *testing.T) {
	v := testVolume(t, "v1")
	tt := storeTorrent(t, v, "multi", multiFiles(), 16<<10)
	var ih metainfo.Hash
	ih.FromHexString(tt.ih)
	dir := v.TorrentDir(tt.ih)
	pt := NewPieceTrust(0)
	clock := time.Unix(1000, 0)
	pt.now = func() time.Time { return clock }
	hashes := map[int]int{}
	verify := func(piece int) error {
		return pt.Verify("v1", ih, dir, tt.info, piece, func() error { hashes[piece]++; return nil })
	}
	last := tt.info.NumPieces() - 1
	for range 3 {
		verify(0)
		verify(last)
		clock = clock.Add(2 * restatEvery)
	}
	if hashes[0] != 1 || hashes[last] != 1 {
		t.Fatalf("hashed %v, want each piece once", hashes)
	}
	// A write to the first file, modification time put back.
	first := filepath.Join(append([]string{dir, "multi"}, tt.info.Files[0].BestPath()...)...)
	flipByte(t, first, 10, true)
	clock = clock.Add(2 * restatEvery)
	verify(0)
	if hashes[0] != 2 {
		t.Fatalf("piece 0 hashed %d times after its file was written, want 2", hashes[0])
	}
	pt.Forget("v1", ih)
	verify(last)
	if hashes[last] != 2 {
		t.Fatalf("last piece hashed %d times after Forget, want 2", hashes[last])
	}
	// A failed hash is not trusted.
	bad := errors.New("bad")
	for range 2 {
		if err := pt.Verify("v1", ih, dir, tt.info, 1, func() error { hashes[1]++; return bad }); err != bad {
			t.Fatalf("err %v, want the hash's error", err)
		}
	}
	if hashes[1] != 2 {
		t.Fatalf("a failing piece was hashed %d times in 2 reads", hashes[1])
	}
}

// TestPieceTrustBounded: the trust's memory stays within its bound however
// many replicas were read; the least recently used are forgotten.
func TestPieceTrustBounded(t *testing.T) {
	v := testVolume(t, "v1")
	tt := storeTorrent(t, v, "one", map[string][]byte{"x": randBytes(64<<10, 3)}, 16<<10)
	pt := NewPieceTrust(4 << 10)
	for i := range 1000 {
		var ih metainfo.Hash
		ih[0], ih[1] = byte(i), byte(i>>8)
		pt.Verify("v1", ih, v.TorrentDir(tt.ih), tt.info, 0, func() error { return nil })
	}
	if n := pt.Bytes(); n > 4<<10 || n == 0 {
		t.Fatalf("trust holds %d bytes, bound 4096", n)
	}
	if pt.lru.Len() >= 1000 {
		t.Fatalf("%d entries kept", pt.lru.Len())
	}
}
