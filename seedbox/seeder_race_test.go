package seedbox

import (
	"context"
	"sync"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"
)

// TestSeederDropAndSeedRace drops a torrent (as a scrub finding its replica
// bad does) while a sync seeds it again from another replica, many times
// over: whatever the interleaving, the seeder ends up with the torrent live
// in its client and every piece complete, never with a dropped torrent or
// pieces the drop forgot after the new seed vouched for them.
func TestSeederDropAndSeedRace(t *testing.T) {
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
	tt := storeTorrent(t, v1, "multi", multiFiles(), 16<<10)
	ctx := context.Background()
	if _, err := CopyReplica(ctx, &Verifier{}, v1.TorrentDir(tt.ih), v2, tt.ih, tt.info); err != nil {
		t.Fatal(err)
	}
	ib, _ := bencode.Marshal(tt.info)
	s, err := NewSeeder(Options{PeerAddr: "127.0.0.1:0", DataDir: t.TempDir(), Checker: chk}, vols)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []Item{{InfoHash: tt.ih, InfoBytes: ib, Volume: "v1"}, {InfoHash: tt.ih, InfoBytes: ib, Volume: "v2"}}
	for i := range 500 {
		var wg sync.WaitGroup
		wg.Go(func() { s.Sync(ctx, want, nil) })
		wg.Go(func() {
			if vol, ok := s.Volume(tt.ih); ok {
				s.DropFrom(tt.ih, vol)
			}
		})
		if i%3 == 0 {
			wg.Go(func() { s.Seed(ctx, want[i%2], false) })
		}
		wg.Wait()
	}
	if err := s.Sync(ctx, want, nil); err != nil {
		t.Fatal(err)
	}
	var ih metainfo.Hash
	ih.FromHexString(tt.ih)
	s.mu.Lock()
	sd, ok := s.torrents[ih]
	s.mu.Unlock()
	if !ok {
		t.Fatal("not seeding after the last sync")
	}
	if live, ok := s.cl.Torrent(ih); !ok || live != sd.t {
		t.Fatal("the seeder holds a torrent its client dropped")
	}
	for i := range tt.info.NumPieces() {
		c, err := s.completion.Get(metainfo.PieceKey{InfoHash: ih, Index: i})
		if err != nil || !c.Ok || !c.Complete {
			t.Fatalf("piece %d is not complete in the seeder's completion (%+v, %v)", i, c, err)
		}
	}
	if !sd.t.Complete().Bool() {
		t.Fatal("the seeded torrent is not complete")
	}
}

// TestSeederUploadLimit: Options.UploadRate is the limiter the client
// uploads through; 0 is unlimited.
func TestSeederUploadLimit(t *testing.T) {
	vols, err := NewVolumes([]Volume{testVolume(t, "v1")}, PlaceMostFree, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, bps := range []int64{3 << 20, 0} {
		s, err := NewSeeder(Options{PeerAddr: "127.0.0.1:0", DataDir: t.TempDir(), UploadRate: bps}, vols)
		if err != nil {
			t.Fatal(err)
		}
		want := rate.Limit(bps)
		if bps == 0 {
			want = rate.Inf
		}
		if got := s.UploadLimit(); got != want {
			t.Errorf("UploadRate %d: limit %v, want %v", bps, got, want)
		}
		s.Close()
	}
}

// TestSeederAnnounceURLPerAdd: the first add of a torrent announces on the
// configured URL, every later add (after a drop) on a URL of its own, so
// anacrolix starts a fresh announce state with a "started" event.
func TestSeederAnnounceURLPerAdd(t *testing.T) {
	s := &Seeder{opts: Options{AnnounceURL: "http://127.0.0.1:8080/announce/pk"}}
	var a, b metainfo.Hash
	a[0], b[0] = 1, 2
	for i, want := range []string{
		"http://127.0.0.1:8080/announce/pk",
		"http://127.0.0.1:8080/announce/pk?seedbox_session=1",
		"http://127.0.0.1:8080/announce/pk?seedbox_session=2",
	} {
		if got := s.announceURL(a); got != want {
			t.Errorf("add %d: %q, want %q", i, got, want)
		}
	}
	if got := s.announceURL(b); got != s.opts.AnnounceURL {
		t.Errorf("first add of another torrent: %q", got)
	}
	s.opts.AnnounceURL = "http://h/announce?pk=x"
	if got := s.announceURL(a); got != "http://h/announce?pk=x&seedbox_session=3" {
		t.Errorf("URL with a query: %q", got)
	}
}
