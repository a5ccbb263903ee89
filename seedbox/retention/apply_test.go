package retention

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// fixture is a real SQLite catalog and real volumes with torrent content on
// disk.
type fixture struct {
	cat  *catalog.Catalog
	vols *seedbox.Volumes
	vol  map[string]seedbox.Volume
	user uint64
	ctx  context.Context
}

func newFixture(t *testing.T, names ...string) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cat, err := catalog.Open(ctx, catalog.Options{URL: "file:" + filepath.Join(dir, "seedbed.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	u, err := cat.CreateUser(ctx, "uploader", "password123", catalog.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{cat: cat, user: u.ID, ctx: ctx, vol: map[string]seedbox.Volume{}}
	var vs []seedbox.Volume
	for _, n := range names {
		row, err := cat.RegisterVolume(ctx, catalog.VolumeInfo{Volume: catalog.Volume{Name: n, Path: filepath.Join(dir, n), Node: "n1"}})
		if err != nil {
			t.Fatal(err)
		}
		v := seedbox.Volume{ID: row.ID, Name: n, Path: row.Path, State: seedbox.StateActive}
		vs = append(vs, v)
		f.vol[n] = v
	}
	if f.vols, err = seedbox.NewVolumes(vs, seedbox.PlaceMostFree, ""); err != nil {
		t.Fatal(err)
	}
	return f
}

// add stores a single-file torrent of size bytes with a verified replica
// and its content on each named volume.
func (f *fixture) add(t *testing.T, name string, size int64, vols ...string) *catalog.Torrent {
	t.Helper()
	data := make([]byte, size)
	copy(data, name)
	const pl = 16 << 10
	var pieces []byte
	for off := int64(0); off < size; off += pl {
		h := sha1.Sum(data[off:min(off+pl, size)])
		pieces = append(pieces, h[:]...)
	}
	ih := sha1.Sum([]byte("info:" + name))
	sum := md5.Sum(data)
	tor := &catalog.Torrent{InfoHash: hex.EncodeToString(ih[:]), Name: name, Size: size, MD510M: hex.EncodeToString(sum[:]),
		PieceLength: pl, Pieces: pieces, InfoBytes: fmt.Appendf(nil, "d4:name%d:%se", len(name), name), SingleFile: true,
		UploaderID: f.user, Files: []catalog.File{{Path: name, Size: size}}}
	first := f.vol[vols[0]]
	if err := f.cat.CreateTorrent(f.ctx, tor, catalog.Replica{VolumeID: first.ID, Node: "n1", State: catalog.ReplicaVerified}); err != nil {
		t.Fatal(err)
	}
	for i, vn := range vols {
		v := f.vol[vn]
		if i > 0 {
			if err := f.cat.SetReplicaState(f.ctx, tor.ID, v.ID, "n1", catalog.ReplicaVerified); err != nil {
				t.Fatal(err)
			}
		}
		dir := v.TorrentDir(tor.InfoHash)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tor
}

func (f *fixture) applier() *Applier {
	return &Applier{Catalog: f.cat, Volumes: f.vols, Node: "n1"}
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func (f *fixture) state(t *testing.T, ih string) *catalog.Torrent {
	t.Helper()
	got, err := f.cat.TorrentByInfoHash(f.ctx, ih)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestApplyPurgesAndKeepsPages(t *testing.T) {
	f := newFixture(t, "v1", "v2")
	big := f.add(t, "big.iso", 300<<10, "v1", "v2")
	small := f.add(t, "small.txt", 10<<10, "v1")
	keep := f.add(t, "pinned.iso", 300<<10, "v1")
	if err := f.cat.SetPinned(f.ctx, keep.InfoHash, true); err != nil {
		t.Fatal(err)
	}
	ts, err := f.cat.RetentionTorrents(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The fake clock: 100 days after the uploads, nothing happened since.
	p := Policy{MaxSize: 100 << 10, StaleAfter: 30 * day, MinAge: 7 * day, HighWater: 0.9, LowWater: 0.8}
	plan := Make(p, time.Now().Add(100*day), ts, Usage(f.vols, "n1"))
	if len(plan.Purges) != 1 || plan.Purges[0].InfoHash != big.InfoHash {
		t.Fatalf("plan %+v, want only %s", plan.Purges, big.InfoHash)
	}
	res, err := f.applier().Apply(f.ctx, plan, "cli:tester")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Purged) != 1 || res.Freed["v1"] != big.Size || res.Freed["v2"] != big.Size {
		t.Fatalf("result %+v", res)
	}
	for _, v := range []string{"v1", "v2"} {
		if exists(t, f.vol[v].TorrentDir(big.InfoHash)) {
			t.Errorf("data of the purged torrent is still on %s", v)
		}
	}
	if !exists(t, f.vol["v1"].TorrentDir(small.InfoHash)) || !exists(t, f.vol["v1"].TorrentDir(keep.InfoHash)) {
		t.Error("data of a kept torrent was deleted")
	}
	got := f.state(t, big.InfoHash)
	if got.State != catalog.StatePurged || got.PurgeReason != plan.Purges[0].Reason || got.PurgedAt.IsZero() {
		t.Errorf("purged torrent reads %s %q", got.State, got.PurgeReason)
	}
	if reps, _ := f.cat.ReplicasOf(f.ctx, big.ID); len(reps) != 0 {
		t.Errorf("purged torrent keeps replicas %+v", reps)
	}
	ps, err := f.cat.Purges(f.ctx, 0)
	if err != nil || len(ps) != 1 {
		t.Fatalf("purges %+v %v", ps, err)
	}
	if pu := ps[0]; pu.Rule != RuleOversizedStale || pu.Actor != "cli:tester" || pu.FinishedAt.IsZero() || pu.Bytes != big.Size {
		t.Errorf("purge record %+v", pu)
	}
	// Applying the same plan again changes nothing.
	res, err = f.applier().Apply(f.ctx, plan, "auto")
	if err != nil || len(res.Purged) != 0 || len(res.Skipped) != 1 {
		t.Errorf("second apply: %+v %v", res, err)
	}
}

// startOnly is step 1 of a purge, as a crash right after it leaves it.
func (f *fixture) startOnly(t *testing.T, tor *catalog.Torrent) {
	t.Helper()
	if err := f.cat.StartPurge(f.ctx, tor.ID, RuleHighWater, "test", "auto", tor.Size); err != nil {
		t.Fatal(err)
	}
}

func TestSweepFinishesInterruptedPurges(t *testing.T) {
	f := newFixture(t, "v1", "v2")
	a := f.add(t, "a.bin", 40<<10, "v1", "v2")
	b := f.add(t, "b.bin", 40<<10, "v1")
	f.startOnly(t, a)
	f.startOnly(t, b)
	// b crashed after deleting its data, before the catalog heard of it.
	os.RemoveAll(f.vol["v1"].TorrentDir(b.InfoHash))
	if got := f.state(t, a.InfoHash); got.State != catalog.StatePurged {
		t.Fatalf("half-done purge reads as %s", got.State)
	}
	work, _ := f.cat.PurgeWork(f.ctx, "n1")
	if len(work) != 3 {
		t.Fatalf("purge work %+v, want 3 copies", work)
	}
	n, err := f.applier().Sweep(f.ctx)
	if err != nil || n != 3 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if exists(t, f.vol["v1"].TorrentDir(a.InfoHash)) || exists(t, f.vol["v2"].TorrentDir(a.InfoHash)) {
		t.Error("sweep left data of a purged torrent")
	}
	ps, _ := f.cat.Purges(f.ctx, 0)
	for _, p := range ps {
		if p.FinishedAt.IsZero() {
			t.Errorf("purge %+v not finished", p)
		}
	}
	if work, _ := f.cat.PurgeWork(f.ctx, "n1"); len(work) != 0 {
		t.Errorf("work left: %+v", work)
	}
}

func TestSweepSparesRevivedAndMaintenance(t *testing.T) {
	f := newFixture(t, "v1", "v2")
	a := f.add(t, "a.bin", 40<<10, "v1")
	b := f.add(t, "b.bin", 40<<10, "v2")
	f.startOnly(t, a)
	f.startOnly(t, b)
	// a is uploaded again before the sweep: active, its data must stay.
	if err := f.cat.ReviveTorrent(f.ctx, a.ID, catalog.Replica{VolumeID: f.vol["v1"].ID, Node: "n1", State: catalog.ReplicaVerified}); err != nil {
		t.Fatal(err)
	}
	// v2 goes into maintenance: neither read nor written until it is back.
	vs := f.vols.List()
	vs[1].State = seedbox.StateMaintenance
	if err := f.vols.Update(vs, seedbox.PlaceMostFree, ""); err != nil {
		t.Fatal(err)
	}
	if n, err := f.applier().Sweep(f.ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if !exists(t, f.vol["v1"].TorrentDir(a.InfoHash)) {
		t.Error("sweep deleted the data of a revived torrent")
	}
	if got := f.state(t, a.InfoHash); got.State != catalog.StateActive || got.PurgeReason != "" {
		t.Errorf("revived torrent reads %s %q", got.State, got.PurgeReason)
	}
	if !exists(t, f.vol["v2"].TorrentDir(b.InfoHash)) {
		t.Error("sweep wrote to a volume in maintenance")
	}
	vs[1].State = seedbox.StateActive
	f.vols.Update(vs, seedbox.PlaceMostFree, "")
	if _, err := f.applier().Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	if exists(t, f.vol["v2"].TorrentDir(b.InfoHash)) {
		t.Error("the copy on the volume back from maintenance was not deleted")
	}
}

func TestHighWaterFreesAVolume(t *testing.T) {
	f := newFixture(t, "v1")
	var ts []*catalog.Torrent
	for i := range 10 {
		ts = append(ts, f.add(t, fmt.Sprintf("t%d.bin", i), 10<<10, "v1"))
	}
	// A cap of 105 KiB: 100 KiB used is 95% full.
	vs := f.vols.List()
	vs[0].Capacity, vs[0].Used = 105<<10, 100<<10
	f.vols.Update(vs, seedbox.PlaceMostFree, "")
	cands, _ := f.cat.RetentionTorrents(f.ctx)
	p := Policy{StaleAfter: day, MinAge: day, HighWater: 0.9, LowWater: 0.8}
	plan := Make(p, time.Now().Add(2*day), cands, Usage(f.vols, "n1"))
	// 100 -> 90 -> 80 -> 70 KiB of 105: 70/105 = 0.67 is the first below 0.8... 80/105 = 0.76 already is.
	if len(plan.Purges) != 2 {
		t.Fatalf("plan purges %d, want 2: %+v", len(plan.Purges), plan.Volumes)
	}
	res, err := f.applier().Apply(f.ctx, plan, "auto")
	if err != nil || res.Freed["v1"] != 20<<10 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	left := 0
	for _, tor := range ts {
		if exists(t, f.vol["v1"].TorrentDir(tor.InfoHash)) {
			left++
		}
	}
	if left != 8 {
		t.Errorf("%d torrents left on disk, want 8", left)
	}
}
