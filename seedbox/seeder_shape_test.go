package seedbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// TestSeederUploadCapHonoured: a seeder capped at 2 MiB/s delivers 6 MiB
// intact to a real BitTorrent client, and no faster than the cap allows
// (its burst plus 2 MiB/s, with a 1.5x tolerance). A correctness bound on
// the cap, not a speed assertion: a slow machine only makes it pass more
// easily, while a cap that is not applied delivers many times more.
func TestSeederUploadCapHonoured(t *testing.T) {
	const capBps, size = 2 << 20, 6 << 20
	v := testVolume(t, "v1")
	v.ID = 1
	vols, err := NewVolumes([]Volume{v}, PlaceMostFree, "")
	if err != nil {
		t.Fatal(err)
	}
	content := randBytes(size, 21)
	tt := storeTorrent(t, v, "capped", map[string][]byte{"x.bin": content}, 64<<10)
	ib, _ := bencode.Marshal(tt.info)
	s, err := NewSeeder(Options{PeerAddr: "127.0.0.1:0", DataDir: t.TempDir(), UploadRate: capBps}, vols)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- s.Serve(ctx, func(context.Context) ([]Item, error) {
			return []Item{{InfoHash: tt.ih, InfoBytes: ib, Volume: "v1"}}, nil
		}, nil, time.Second)
	}()
	<-s.Ready()
	start := time.Now()
	lt := leech(t, ctx, tt, ib, s.cl.ListenAddrs()[0])
	elapsed := time.Since(start)
	got, err := os.ReadFile(filepath.Join(lt.dir, "capped", "x.bin"))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("downloaded content differs from the original (err %v)", err)
	}
	burst := float64(s.upload.Burst())
	if allowed := 1.5 * (burst + capBps*elapsed.Seconds()); size > allowed {
		t.Fatalf("capped at 2 MiB/s, the seeder sent %d MiB in %v: more than 1.5x the cap allows (%.1f MiB)",
			size>>20, elapsed.Round(time.Millisecond), allowed/(1<<20))
	}
	t.Logf("6 MiB at a 2 MiB/s cap took %v", elapsed.Round(time.Millisecond))
	cancel()
	<-served
}
