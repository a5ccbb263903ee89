package publish

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox/retention"
)

// purge purges the torrent the way `seedbed retention apply` does; with
// crash set, it stops after the catalog step, as a SIGKILL would.
func (f *fixture) purge(t *testing.T, tor *catalog.Torrent, crash bool) {
	t.Helper()
	ctx := context.Background()
	plan := retention.Plan{Purges: []retention.Purge{{TorrentID: tor.ID, InfoHash: tor.InfoHash, Size: tor.Size,
		Rule: retention.RuleOversizedStale, Reason: "test purge",
		Replicas: []retention.Replica{{VolumeID: f.vol.ID, Volume: f.vol.Name, Node: "n1"}}}}}
	if crash {
		if err := f.pub.Catalog.StartPurge(ctx, tor.ID, "oversized-stale", "test purge", "auto", tor.Size); err != nil {
			t.Fatal(err)
		}
		return
	}
	a := &retention.Applier{Catalog: f.pub.Catalog, Volumes: f.pub.Volumes, Node: "n1"}
	if res, err := a.Apply(ctx, plan, "cli:test"); err != nil || len(res.Purged) != 1 {
		t.Fatalf("purge: %+v %v", res, err)
	}
	if _, err := os.Stat(f.vol.TorrentDir(tor.InfoHash)); !os.IsNotExist(err) {
		t.Fatalf("purged data still there: %v", err)
	}
}

func (f *fixture) checkRevived(t *testing.T, out Outcome, orig *catalog.Torrent, files ...file) {
	t.Helper()
	if !out.Revived || out.Duplicate || out.Torrent.InfoHash != orig.InfoHash || out.Torrent.ID != orig.ID {
		t.Fatalf("outcome revived=%v duplicate=%v %s, want the purged torrent %s revived", out.Revived, out.Duplicate, out.Torrent.InfoHash, orig.InfoHash)
	}
	got, err := f.pub.Catalog.TorrentByInfoHash(context.Background(), orig.InfoHash)
	if err != nil || got.State != catalog.StateActive || got.PurgeReason != "" {
		t.Fatalf("revived torrent %+v %v", got, err)
	}
	reps, _ := f.pub.Catalog.ReplicasOf(context.Background(), orig.ID)
	if len(reps) != 1 || reps[0].State != catalog.ReplicaVerified || reps[0].VolumeID != f.vol.ID {
		t.Errorf("replicas %+v", reps)
	}
	for i, fl := range files {
		p := filepath.Join(f.vol.TorrentDir(orig.InfoHash), orig.Name)
		if !orig.SingleFile {
			p = filepath.Join(p, filepath.FromSlash(orig.Files[i].Path))
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, fl.data) {
			t.Errorf("file %s of the revived torrent: %v", p, err)
		}
	}
	if f.got[len(f.got)-1] != orig.InfoHash {
		t.Error("a revived torrent was not handed to the tracker and seeder")
	}
	if n := f.stored(t); n != 1 {
		t.Errorf("%d content folders, want 1", n)
	}
}

func TestReuploadRevivesPurgedTorrent(t *testing.T) {
	data := randBytes(100<<10, 11)
	t.Run("same name", func(t *testing.T) {
		f := newFixture(t)
		orig := f.publish(t, file{"film.mkv", data}).Torrent
		f.purge(t, orig, false)
		f.checkRevived(t, f.publish(t, file{"film.mkv", data}), orig, file{"film.mkv", data})
		// Once active again, the next upload is a plain duplicate.
		if out := f.publish(t, file{"film.mkv", data}); !out.Duplicate || out.Revived {
			t.Errorf("upload of an active torrent: %+v", out)
		}
	})
	t.Run("other file name keeps the torrent's own layout", func(t *testing.T) {
		f := newFixture(t)
		orig := f.publish(t, file{"film.mkv", data}).Torrent
		f.purge(t, orig, false)
		f.checkRevived(t, f.publish(t, file{"renamed.mkv", data}), orig, file{"film.mkv", data})
	})
	t.Run("folder under another name", func(t *testing.T) {
		f := newFixture(t)
		a, b := randBytes(40<<10, 1), randBytes(3<<10, 2)
		orig := f.publish(t, file{"course/a.pdf", a}, file{"course/sub/b.txt", b}).Torrent
		orig, _ = f.pub.Catalog.TorrentByInfoHash(context.Background(), orig.InfoHash)
		f.purge(t, orig, false)
		f.checkRevived(t, f.publish(t, file{"copy/a.pdf", a}, file{"copy/sub/b.txt", b}), orig, file{"a", a}, file{"b", b})
	})
	t.Run("after a purge a crash left half done", func(t *testing.T) {
		f := newFixture(t)
		orig := f.publish(t, file{"film.mkv", data}).Torrent
		f.purge(t, orig, true)
		f.checkRevived(t, f.publish(t, file{"film.mkv", data}), orig, file{"film.mkv", data})
		// The interrupted purge must not delete the revived data later.
		a := &retention.Applier{Catalog: f.pub.Catalog, Volumes: f.pub.Volumes, Node: "n1"}
		if _, err := a.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(f.vol.TorrentDir(orig.InfoHash)); err != nil {
			t.Errorf("revived data removed by the sweep: %v", err)
		}
	})
}
