package seedbox

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// TestVerifyingStorageRefusesACorruptPiece: a piece whose bytes changed on
// disk after it was verified is refused on read and reported once; the
// other pieces are served.
func TestVerifyingStorageRefusesACorruptPiece(t *testing.T) {
	v := testVolume(t, "v1")
	tt := storeTorrent(t, v, "multi", multiFiles(), 16<<10)
	flipByte(t, filepath.Join(v.TorrentDir(tt.ih), "multi", "a.bin"), 20_000, true) // piece 1
	var reports []int
	vs := &verifyingStorage{
		inner: storage.NewFileOpts(storage.NewFileClientOpts{
			ClientBaseDir: v.Path,
			TorrentDirMaker: func(base string, _ *metainfo.Info, ih metainfo.Hash) string {
				return TorrentDir(base, ih.HexString())
			},
			PieceCompletion: storage.NewMapPieceCompletion(),
		}),
		volume: "v1", root: v.Path, trust: NewPieceTrust(0),
		onBad: func(_ metainfo.Hash, _ *metainfo.Info, piece int, _ bool, _ error) { reports = append(reports, piece) },
	}
	var ih metainfo.Hash
	ih.FromHexString(tt.ih)
	ti, err := vs.OpenTorrent(context.Background(), tt.info, ih)
	if err != nil {
		t.Fatal(err)
	}
	defer ti.Close()
	buf := make([]byte, 100)
	for range 2 {
		if _, err := ti.Piece(tt.info.Piece(0)).ReadAt(buf, 0); err != nil {
			t.Fatalf("good piece 0: %v", err)
		}
		if _, err := ti.Piece(tt.info.Piece(1)).ReadAt(buf, 0); !errors.Is(err, ErrPieceCorrupt) {
			t.Fatalf("corrupt piece 1: err %v, want ErrPieceCorrupt", err)
		}
	}
	if len(reports) != 1 || reports[0] != 1 {
		t.Fatalf("reports %v, want piece 1 once", reports)
	}

	// With a good copy elsewhere, the corrupt piece is served from it.
	want := randBytes(16<<10, 77)
	vs.rescue = func(_ metainfo.Hash, _ *metainfo.Info, piece int) []byte {
		if piece == 1 {
			return want
		}
		return nil
	}
	ti2, err := vs.OpenTorrent(context.Background(), tt.info, ih)
	if err != nil {
		t.Fatal(err)
	}
	defer ti2.Close()
	got := make([]byte, 1000)
	if n, err := ti2.Piece(tt.info.Piece(1)).ReadAt(got, 500); err != nil || n != len(got) || !bytes.Equal(got, want[500:1500]) {
		t.Fatalf("rescued read: n %d err %v, bytes match %v", n, err, bytes.Equal(got, want[500:1500]))
	}
	if len(reports) != 2 {
		t.Fatalf("a rescued piece is reported too: reports %v", reports)
	}
}

// TestSeederNeverServesACorruptPiece: a byte flips on disk in the replica
// being seeded, after it was verified and with its size and mtime
// unchanged. A real BitTorrent client downloading meanwhile never receives
// the bad piece: the seeder refuses it, reports the replica, and serves the
// torrent from the good replica instead; the download completes intact.
func TestSeederNeverServesACorruptPiece(t *testing.T) {
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
	chk.OnBad(func(volume, ih string, res Result) {
		mu.Lock()
		bad = append(bad, volume)
		mu.Unlock()
	})
	content := randBytes(1<<20+333, 9)
	tt := storeTorrent(t, v1, "one", map[string][]byte{"x.bin": content}, 32<<10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := CopyReplica(ctx, &Verifier{}, v1.TorrentDir(tt.ih), v2, tt.ih, tt.info); err != nil {
		t.Fatal(err)
	}
	ib, _ := bencode.Marshal(tt.info)
	s, err := NewSeeder(Options{PeerAddr: "127.0.0.1:0", DataDir: t.TempDir(), Checker: chk}, vols)
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{InfoHash: tt.ih, InfoBytes: ib, Volume: "v1"}, {InfoHash: tt.ih, InfoBytes: ib, Volume: "v2"}}
	served := make(chan error, 1)
	go func() {
		served <- s.Serve(ctx, func(context.Context) ([]Item, error) { return want, nil }, nil, 200*time.Millisecond)
	}()
	<-s.Ready()
	if vol, _ := s.Volume(tt.ih); vol != "v1" {
		t.Fatalf("seeding from %q, want v1", vol)
	}
	// Bit rot in the middle of the file, after verification.
	flipByte(t, filepath.Join(v1.TorrentDir(tt.ih), "one", "x.bin"), 600_000, true)

	lt := leech(t, ctx, tt, ib, s.cl.ListenAddrs()[0])
	got, err := os.ReadFile(filepath.Join(lt.dir, "one", "x.bin"))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("downloaded content differs from the original (err %v)", err)
	}
	st := lt.t.Stats()
	if n := st.PiecesDirtiedBad.Int64(); n != 0 {
		t.Fatalf("the client received %d bad pieces", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) == 0 || bad[0] != "v1" {
		t.Fatalf("replicas reported bad: %v, want v1", bad)
	}
	if vol, _ := s.Volume(tt.ih); vol != "v2" {
		t.Fatalf("seeding from %q after the corruption, want v2", vol)
	}
	cancel()
	<-served
}

type leecher struct {
	t   *torrent.Torrent
	dir string
}

// leech downloads tt with a fresh anacrolix client from the peer at addr,
// handing it the address again every half second (as a tracker would)
// until the download completes.
func leech(t *testing.T, ctx context.Context, tt testTorrent, infoBytes []byte, addr net.Addr) leecher {
	t.Helper()
	dir := t.TempDir()
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = dir
	cfg.NoDHT, cfg.DisablePEX, cfg.DisableUTP, cfg.NoDefaultPortForwarding, cfg.DisableWebtorrent = true, true, true, true, true
	cfg.DisableIPv6 = true
	cfg.ListenHost = func(string) string { return "127.0.0.2" }
	cfg.ListenPort = 0
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	var ih metainfo.Hash
	ih.FromHexString(tt.ih)
	lt, _ := cl.AddTorrentOpt(torrent.AddTorrentOpts{InfoHash: ih, InfoBytes: infoBytes})
	lt.DownloadAll()
	deadline := time.After(60 * time.Second)
	for {
		lt.AddPeers([]torrent.PeerInfo{{Addr: addr, Trusted: true}})
		select {
		case <-lt.Complete().On():
			return leecher{t: lt, dir: dir}
		case <-deadline:
			st := lt.Stats()
			t.Fatalf("download incomplete after 60 s: %d of %d bytes; peers %d active %d half-open %d; banned %v",
				lt.BytesCompleted(), tt.info.TotalLength(), st.TotalPeers, st.ActivePeers, st.HalfOpenPeers, cl.BadPeerIPs())
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
