package seedbox

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

// TestSeederSeedsFromAGoodReplica: a torrent whose first listed replica is
// corrupt is seeded from the second, complete, and the bad one is reported.
func TestSeederSeedsFromAGoodReplica(t *testing.T) {
	v1, v2 := testVolume(t, "v1"), testVolume(t, "v2")
	v1.ID, v2.ID = 1, 2
	vols, err := NewVolumes([]Volume{v1, v2}, PlaceMostFree, "")
	if err != nil {
		t.Fatal(err)
	}
	chk, err := NewChecker(vols, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var bad []string
	chk.OnBad(func(volume, ih string, _ Result) {
		mu.Lock()
		bad = append(bad, volume+"/"+ih)
		mu.Unlock()
	})
	tt := storeTorrent(t, v1, "multi", multiFiles(), 16<<10)
	ctx := context.Background()
	if _, err := CopyReplica(ctx, &Verifier{}, v1.TorrentDir(tt.ih), v2, tt.ih, tt.info); err != nil {
		t.Fatal(err)
	}
	flipByte(t, filepath.Join(v1.TorrentDir(tt.ih), "multi", "a.bin"), 3, true)
	ib, _ := bencode.Marshal(tt.info)
	s, err := NewSeeder(Options{PeerAddr: "127.0.0.1:0", DataDir: t.TempDir(), Checker: chk}, vols)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []Item{{InfoHash: tt.ih, InfoBytes: ib, Volume: "v1"}, {InfoHash: tt.ih, InfoBytes: ib, Volume: "v2"}}
	if err := s.Sync(ctx, want, nil); err != nil {
		t.Fatal(err)
	}
	if vol, _ := s.Volume(tt.ih); vol != "v2" {
		t.Fatalf("seeding from %q, want v2", vol)
	}
	if err := s.WaitComplete(ctx, tt.ih); err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0] != "v1/"+tt.ih {
		t.Fatalf("reported bad: %v", bad)
	}
	// v2 goes bad too: the seeder drops it when told.
	s.DropFrom(tt.ih, "v2")
	if seeding, _ := s.Status(tt.ih); seeding {
		t.Fatal("still seeding from a dropped replica")
	}
}
