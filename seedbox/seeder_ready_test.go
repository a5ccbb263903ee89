package seedbox

import (
	"context"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// A seeder gated by ReadyAfter is not ready while the gate is open, even
// though it synced, and is ready right after the gate closes with what the
// list then holds (the replicator's start-up check of pending replicas adds
// them to it).
func TestSeederReadyAfterGate(t *testing.T) {
	v := testVolume(t, "v1")
	v.ID = 1
	vols, err := NewVolumes([]Volume{v}, PlaceMostFree, "")
	if err != nil {
		t.Fatal(err)
	}
	tt := storeTorrent(t, v, "gated", map[string][]byte{"x.bin": randBytes(64<<10, 3)}, 16<<10)
	ib, _ := bencode.Marshal(tt.info)
	s, err := NewSeeder(Options{PeerAddr: "127.0.0.1:0", DataDir: t.TempDir()}, vols)
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	s.ReadyAfter(gate)
	listed := make(chan []Item, 1)
	listed <- nil // pending: nothing to seed yet
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- s.Serve(ctx, func(context.Context) ([]Item, error) {
			items := <-listed
			listed <- items
			return items, nil
		}, nil, time.Hour)
	}()
	select {
	case <-s.Ready():
		t.Fatal("ready before the gate closed")
	case <-time.After(300 * time.Millisecond):
	}
	<-listed
	listed <- []Item{{InfoHash: tt.ih, InfoBytes: ib, Volume: "v1"}}
	close(gate)
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("not ready 10 s after the gate closed")
	}
	if n := s.Count(); n != 1 {
		t.Fatalf("ready seeding %d torrents, want 1", n)
	}
	cancel()
	<-served
}
