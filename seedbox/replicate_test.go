package seedbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// memCatalog is the replica table of the catalog in memory: the real one is
// exercised through the binary in e2e/healing_test.go.
type memCatalog struct {
	mu    sync.Mutex
	vols  map[uint64]Volume
	recs  map[string]map[uint64]string // infohash -> volume id -> state
	infos map[string][]byte
	sizes map[string]int64
	// offline nodes send no heartbeat: their replicas and volumes are so
	// marked.
	offline map[string]bool
}

// nodeOf is the node of a volume: one without a folder is another node's.
func nodeOf(v Volume) string {
	if v.Path == "" {
		return "n2"
	}
	return "n1"
}

func newMemCatalog(vols ...Volume) *memCatalog {
	c := &memCatalog{vols: map[uint64]Volume{}, recs: map[string]map[uint64]string{}, infos: map[string][]byte{},
		sizes: map[string]int64{}, offline: map[string]bool{}}
	for _, v := range vols {
		c.vols[v.ID] = v
	}
	return c
}

func (c *memCatalog) add(t testing.TB, tt testTorrent, v Volume) {
	b, err := bencode.Marshal(tt.info)
	if err != nil {
		t.Fatal(err)
	}
	c.infos[tt.ih], c.sizes[tt.ih] = b, tt.info.TotalLength()
	c.SetReplicaState(context.Background(), tt.ih, v.ID, "n1", ReplicaVerified)
}

func (c *memCatalog) ActiveReplicas(context.Context) ([]ReplicaRecord, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ReplicaRecord
	for ih, m := range c.recs {
		for id, st := range m {
			v := c.vols[id]
			out = append(out, ReplicaRecord{InfoHash: ih, Size: c.sizes[ih], VolumeID: id, Volume: v.Name,
				VolumeState: v.State, Node: nodeOf(v), State: st, NodeOnline: !c.offline[nodeOf(v)]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].InfoHash != out[j].InfoHash {
			return out[i].InfoHash < out[j].InfoHash
		}
		return out[i].VolumeID < out[j].VolumeID
	})
	return out, nil
}

func (c *memCatalog) SetReplicaState(_ context.Context, ih string, volumeID uint64, _ string, state string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recs[ih] == nil {
		c.recs[ih] = map[uint64]string{}
	}
	c.recs[ih][volumeID] = state
	return nil
}

func (c *memCatalog) ClaimReplica(_ context.Context, ih string, volumeID uint64, _ string, want int) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for id, st := range c.recs[ih] {
		if id != volumeID && (st == ReplicaVerified || st == ReplicaCopying) && c.vols[id].State != StateMaintenance {
			n++
		}
	}
	if n >= want {
		return false, nil
	}
	c.recs[ih][volumeID] = ReplicaCopying
	return true, nil
}

func (c *memCatalog) VolumeStates(context.Context) ([]VolumeRecord, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []VolumeRecord
	for _, v := range c.vols {
		node := nodeOf(v)
		out = append(out, VolumeRecord{ID: v.ID, Name: v.Name, Node: node, State: v.State, NodeOnline: !c.offline[node]})
	}
	return out, nil
}

func (c *memCatalog) InfoBytes(_ context.Context, ih string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.infos[ih]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("no torrent %s", ih)
}

func (c *memCatalog) state(ih string, v Volume) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recs[ih][v.ID]
}

type replicationRig struct {
	v1, v2 Volume
	vols   *Volumes
	cat    *memCatalog
	chk    *Checker
	rep    *Replicator
	tt     testTorrent
}

func newRig(t *testing.T) *replicationRig {
	r := &replicationRig{v1: testVolume(t, "v1"), v2: testVolume(t, "v2")}
	r.v1.ID, r.v2.ID = 1, 2
	var err error
	if r.vols, err = NewVolumes([]Volume{r.v1, r.v2}, PlaceMostFree, ""); err != nil {
		t.Fatal(err)
	}
	r.cat = newMemCatalog(r.v1, r.v2)
	if r.chk, err = NewChecker(r.vols, nil); err != nil {
		t.Fatal(err)
	}
	r.rep = NewReplicator(ReplicatorOptions{Catalog: r.cat, Volumes: r.vols, Checker: r.chk, Node: "n1", Replicas: 2})
	r.tt = storeTorrent(t, r.v1, "multi", multiFiles(), 16<<10)
	r.cat.add(t, r.tt, r.v1)
	return r
}

func (r *replicationRig) pass(t *testing.T) {
	t.Helper()
	if err := r.rep.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (r *replicationRig) wantVerified(t *testing.T, v Volume) {
	t.Helper()
	if st := r.cat.state(r.tt.ih, v); st != ReplicaVerified {
		t.Fatalf("replica on %s is %q, want verified", v.Name, st)
	}
	if res, err := (&Verifier{}).Verify(context.Background(), v.TorrentDir(r.tt.ih), r.tt.info); err != nil || !res.OK() {
		t.Fatalf("replica on %s does not verify: %+v %v", v.Name, res, err)
	}
}

func TestReplicatorCopiesAndRebuilds(t *testing.T) {
	r := newRig(t)
	r.pass(t)
	r.wantVerified(t, r.v2)

	// A deleted copy is noticed (its files are gone) and rebuilt.
	os.RemoveAll(r.v2.TorrentDir(r.tt.ih))
	r.pass(t)
	r.wantVerified(t, r.v2)
	if c, _, _ := r.rep.Stats(); c != 2 {
		t.Errorf("copies = %d, want 2", c)
	}

	// A byte changed behind the ledger's back (same size and mtime) is
	// found by the scrub, marked corrupt, and patched from the good copy.
	flipByte(t, filepath.Join(r.v1.TorrentDir(r.tt.ih), "multi", "sub", "b.bin"), 10, true)
	r.pass(t)
	r.wantVerified(t, r.v2) // the replicator alone does not re-hash a trusted replica
	sc := NewScrubber(ScrubOptions{Catalog: r.cat, Volumes: r.vols, Checker: r.chk, Node: "n1"})
	if err := sc.ScrubVolume(context.Background(), r.v1); err != nil {
		t.Fatal(err)
	}
	if st := r.cat.state(r.tt.ih, r.v1); st != ReplicaCorrupt {
		t.Fatalf("after scrub v1 is %q, want corrupt", st)
	}
	if p := sc.Progress(); p.Corrupt != 1 || p.Done != r.tt.info.TotalLength() || p.Total != p.Done || p.Passes != 1 {
		t.Fatalf("progress %+v", p)
	}
	r.pass(t)
	r.wantVerified(t, r.v1)
	if _, p, _ := r.rep.Stats(); p != 1 {
		t.Errorf("patches = %d, want 1", p)
	}
}

func TestReplicatorRespectsVolumeStates(t *testing.T) {
	r := newRig(t)
	// A readonly volume gets no new replica.
	v2 := r.v2
	v2.State = StateReadonly
	r.vols.Update([]Volume{r.v1, v2}, PlaceMostFree, "")
	r.pass(t)
	if st := r.cat.state(r.tt.ih, r.v2); st != "" {
		t.Fatalf("readonly volume got a replica (%s)", st)
	}
	// With v2 active again the copy is made; then v1 goes into maintenance
	// with its copy damaged: it is never read, neither as a source nor to
	// check it.
	r.vols.Update([]Volume{r.v1, r.v2}, PlaceMostFree, "")
	r.pass(t)
	r.wantVerified(t, r.v2)
	v1 := r.v1
	v1.State = StateMaintenance
	r.vols.Update([]Volume{v1, r.v2}, PlaceMostFree, "")
	os.RemoveAll(r.v1.TorrentDir(r.tt.ih))
	r.pass(t)
	if st := r.cat.state(r.tt.ih, r.v1); st != ReplicaVerified {
		t.Fatalf("a replica on a maintenance volume was judged: %s", st)
	}
	if _, _, err := r.chk.readable(r.v1.Name); err == nil {
		t.Fatal("maintenance volume readable")
	}
}

func TestReplicatorResumesAfterCrash(t *testing.T) {
	r := newRig(t)
	// A crash mid-copy: the row says copying, a staging folder and a half
	// written final folder are left.
	r.cat.SetReplicaState(context.Background(), r.tt.ih, r.v2.ID, "n1", ReplicaCopying)
	os.MkdirAll(filepath.Join(r.v2.StagingDir(), replicaStagePrefix+r.tt.ih+"-42", "multi"), 0o755)
	os.MkdirAll(filepath.Join(r.v2.TorrentDir(r.tt.ih), "multi"), 0o755)
	os.WriteFile(filepath.Join(r.v2.TorrentDir(r.tt.ih), "multi", "a.bin"), []byte("half"), 0o644)
	if n, _ := CleanStaging(r.v2); n != 1 {
		t.Fatalf("cleaned %d staging folders", n)
	}
	if st := r.cat.state(r.tt.ih, r.v2); st != ReplicaCopying {
		t.Fatal(st)
	}
	r.pass(t)
	r.wantVerified(t, r.v2)
}

// TestReplicatorPrefersOtherNodes: while another node has an active volume
// without the torrent, this node leaves the missing replica to it for three
// passes, then makes it itself.
func TestReplicatorPrefersOtherNodes(t *testing.T) {
	r := newRig(t)
	r.cat.vols[3] = Volume{ID: 3, Name: "far", State: StateActive}
	r.rep.opts.Every = 100 * time.Millisecond
	r.pass(t)
	if st := r.cat.state(r.tt.ih, r.v2); st != "" {
		t.Fatalf("copied locally at once (%s) though another node could take it", st)
	}
	time.Sleep(350 * time.Millisecond)
	r.pass(t)
	r.wantVerified(t, r.v2)
}

// TestReplicatorIgnoresOfflineNodes: a node that sends no heartbeat is no
// reason to wait, so the missing replica is made here at once.
func TestReplicatorIgnoresOfflineNodes(t *testing.T) {
	r := newRig(t)
	r.cat.vols[3] = Volume{ID: 3, Name: "far", State: StateActive}
	r.cat.offline["n2"] = true
	r.pass(t)
	r.wantVerified(t, r.v2)
}

// copyFetcher stands in for the swarm: it copies a replica of another node
// (a folder of this test) to the destination volume.
type copyFetcher struct {
	from Volume
	dsts []Volume
}

func (f *copyFetcher) Fetch(_ context.Context, ih string, _ *metainfo.Info, dst Volume) error {
	f.dsts = append(f.dsts, dst)
	return os.CopyFS(dst.TorrentDir(ih), os.DirFS(f.from.TorrentDir(ih)))
}

// TestReplicatorFetchSameVolumeName: another node's volume with the same
// name as this node's one ("default" everywhere) is not taken for this
// node's: the replica is fetched into the local volume, once; an offline
// node's replica is no source.
func TestReplicatorFetchSameVolumeName(t *testing.T) {
	local := testVolume(t, "default")
	local.ID = 1
	vols, err := NewVolumes([]Volume{local}, PlaceMostFree, "")
	if err != nil {
		t.Fatal(err)
	}
	remote := testVolume(t, "default") // its folder plays the other node's disk
	tt := storeTorrent(t, remote, "same", multiFiles(), 16<<10)
	cat := newMemCatalog(local, Volume{ID: 9, Name: "default", State: StateActive})
	cat.add(t, tt, Volume{ID: 9})
	chk, err := NewChecker(vols, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &copyFetcher{from: remote}
	rep := NewReplicator(ReplicatorOptions{Catalog: cat, Volumes: vols, Checker: chk, Fetcher: f, Node: "n1", Replicas: 3})
	cat.offline["n2"] = true
	if err := rep.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.dsts) != 0 {
		t.Fatalf("fetched from an offline node only: %+v", f.dsts)
	}
	cat.offline["n2"] = false
	for range 2 {
		if err := rep.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.dsts) != 1 || f.dsts[0].ID != local.ID {
		t.Fatalf("fetches = %+v, want one into the local volume", f.dsts)
	}
	if st := cat.state(tt.ih, local); st != ReplicaVerified {
		t.Fatalf("local replica is %q", st)
	}
}
