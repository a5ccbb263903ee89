package seedbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"
)

// Replica states, as the catalog records them.
const (
	ReplicaVerified = "verified"
	ReplicaCopying  = "copying"
	ReplicaCorrupt  = "corrupt"
	// ReplicaPending: verified before, but its node restarted or came back
	// after being offline; it neither counts nor is seeded until this
	// node's Checker vouched for it again (Replicator.recheck).
	ReplicaPending = "pending"
	// ReplicaSurplus: a copy beyond the wanted count that the trim leader
	// chose; its node deletes it (node/trim.go). Replication leaves it be.
	ReplicaSurplus = "surplus"
)

// ReplicaRecord is one replica of an active torrent as the catalog knows it.
type ReplicaRecord struct {
	TorrentID   uint64
	InfoHash    string
	Size        int64
	VolumeID    uint64
	Volume      string
	VolumeState string // the volume's state in the catalog
	Node        string
	State       string // ReplicaVerified, ReplicaCopying, ReplicaCorrupt, ReplicaPending or ReplicaSurplus
	// NodeOnline: the replica's node is alive (its heartbeat is recent). A
	// replica on a node that is not counts for nothing until it returns.
	NodeOnline bool
}

// ReplicaCatalog is what replication and scrub need from the catalog.
type ReplicaCatalog interface {
	// ActiveReplicas lists every replica of every active torrent, grouped
	// by torrent.
	ActiveReplicas(ctx context.Context) ([]ReplicaRecord, error)
	SetReplicaState(ctx context.Context, infoHash string, volumeID uint64, node, state string) error
	// ClaimReplica records a copying replica on the volume only while the
	// torrent has fewer than want verified or copying replicas, and tells
	// whether it did: nodes use it to agree on who fetches a replica.
	ClaimReplica(ctx context.Context, infoHash string, volumeID uint64, node string, want int) (bool, error)
	InfoBytes(ctx context.Context, infoHash string) ([]byte, error)
	// VolumeStates lists every volume of every node.
	VolumeStates(ctx context.Context) ([]VolumeRecord, error)
}

// VolumeRecord is a volume as the catalog knows it.
type VolumeRecord struct {
	ID         uint64
	Name       string // unique on its node only
	Node       string
	State      string
	NodeOnline bool // its node is alive
}

// Fetcher is the seam for replication between nodes: it makes dst hold a
// verified replica of a torrent this node has no good copy of, by joining
// the torrent's swarm and downloading it piece by piece, each piece checked
// against the info dict. The Replicator calls it only when no volume of this
// node holds a good replica; with a nil Fetcher such torrents wait for a node
// that has one.
type Fetcher interface {
	Fetch(ctx context.Context, infoHash string, info *metainfo.Info, dst Volume) error
}

// ReplicatorOptions configure a Replicator.
type ReplicatorOptions struct {
	Catalog  ReplicaCatalog
	Volumes  *Volumes
	Checker  *Checker
	Seeder   *Seeder // told when a replica turns bad or good; may be nil
	Fetcher  Fetcher // between nodes; may be nil
	Node     string
	Replicas int           // wanted verified replicas per torrent
	Every    time.Duration // how often replicas are compared with the disk
	Rate     int64         // copy rate cap in bytes per second; 0 is uncapped
	Logger   *slog.Logger
}

// Replicator keeps every torrent on Replicas distinct volumes. Between the
// volumes of this node it makes verified copies (CopyReplica); a replica
// that is missing, changed on disk or found corrupt is marked corrupt,
// stops being served, and is rebuilt from a good one: patched piece by
// piece when only some pieces are bad, copied whole otherwise. A replica row
// is "copying" while a copy runs and becomes "verified" only after every
// piece was checked, so a crash never leaves an unverified replica counted.
type Replicator struct {
	opts     ReplicatorOptions
	verifier *Verifier
	log      *slog.Logger
	kick     chan struct{}
	// settled is closed once this node's pending replicas were checked
	// at start (Serve), so the seeder can say it is ready with them.
	settled chan struct{}

	mu    sync.Mutex
	infos map[string]*metainfo.Info
	short map[string]time.Time // when a torrent was first seen short of replicas
	// remote holds the active volumes of other nodes, read once per pass.
	remote []VolumeRecord

	copies, patches, failures atomic.Int64
}

// NewReplicator builds a Replicator and subscribes it to the Checker's bad
// replica reports.
func NewReplicator(opts ReplicatorOptions) *Replicator {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Every <= 0 {
		opts.Every = 30 * time.Second
	}
	opts.Replicas = max(opts.Replicas, 1)
	r := &Replicator{opts: opts, verifier: &Verifier{Limiter: limiter(opts.Rate)},
		log: opts.Logger.With("part", "replicator"), kick: make(chan struct{}, 1), settled: make(chan struct{}), infos: map[string]*metainfo.Info{}, short: map[string]time.Time{}}
	opts.Checker.OnBad(r.onBad)
	return r
}

// limiter returns a rate cap of bps bytes per second, nil for uncapped.
func limiter(bps int64) *rate.Limiter {
	if bps <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(bps), int(min(max(bps, 64<<10), chunkTarget)))
}

// onBad marks a replica found bad corrupt, stops serving it and schedules
// its repair.
func (r *Replicator) onBad(volume, infoHash string, res Result) {
	v, ok := r.opts.Volumes.ByName(volume)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.opts.Catalog.SetReplicaState(ctx, infoHash, v.ID, r.opts.Node, ReplicaCorrupt); err != nil {
		r.log.Error("mark replica corrupt", "info_hash", infoHash, "volume", volume, "err", err)
	}
	if r.opts.Seeder != nil {
		r.opts.Seeder.DropFrom(infoHash, volume)
	}
	r.Kick()
}

// Kick makes Serve run a pass now.
func (r *Replicator) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Stats are the replicator's counters since start.
func (r *Replicator) Stats() (copies, patches, failures int64) {
	return r.copies.Load(), r.patches.Load(), r.failures.Load()
}

// Serve removes the leftovers of copies a crash interrupted, checks this
// node's pending replicas (Settled), then runs a pass every opts.Every (or
// when kicked) until ctx ends.
func (r *Replicator) Serve(ctx context.Context) error {
	for _, v := range r.opts.Volumes.List() {
		if v.State == StateMaintenance {
			continue
		}
		if n, err := CleanStaging(v); err != nil {
			r.log.Warn("clean interrupted copies", "volume", v.Name, "err", err)
		} else if n > 0 {
			r.log.Info("removed interrupted replica copies", "volume", v.Name, "count", n)
		}
	}
	if err := r.recheckPending(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("check this node's replicas at start", "err", err)
	}
	close(r.settled)
	tick := time.NewTicker(r.opts.Every)
	defer tick.Stop()
	for {
		if err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("replication pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-r.kick:
		}
	}
}

// Pass compares every torrent's replicas with the disk and the wanted count
// once, repairing and copying as needed.
func (r *Replicator) Pass(ctx context.Context) error {
	recs, err := r.opts.Catalog.ActiveReplicas(ctx)
	if err != nil {
		return err
	}
	if err := r.loadRemote(ctx); err != nil {
		return err
	}
	var errs []error
	for i := 0; i < len(recs); {
		j := i
		for j < len(recs) && recs[j].InfoHash == recs[i].InfoHash {
			j++
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := r.reconcile(ctx, recs[i:j]); err != nil {
			r.failures.Add(1)
			errs = append(errs, err)
		}
		i = j
	}
	return errors.Join(errs...)
}

// info returns a torrent's parsed info dict, cached.
func (r *Replicator) info(ctx context.Context, infoHash string) (*metainfo.Info, error) {
	r.mu.Lock()
	info, ok := r.infos[infoHash]
	r.mu.Unlock()
	if ok {
		return info, nil
	}
	b, err := r.opts.Catalog.InfoBytes(ctx, infoHash)
	if err != nil {
		return nil, err
	}
	info = new(metainfo.Info)
	if err := infoUnmarshal(b, info); err != nil {
		return nil, fmt.Errorf("%s: %w", infoHash, err)
	}
	r.mu.Lock()
	r.infos[infoHash] = info
	r.mu.Unlock()
	return info, nil
}

// localVolume returns the volume of rec when it is one of this node's
// (volume names are unique per node only: the id decides).
func (r *Replicator) localVolume(rec ReplicaRecord) (Volume, bool) {
	if rec.Node != r.opts.Node {
		return Volume{}, false
	}
	v, ok := r.opts.Volumes.ByName(rec.Volume)
	if !ok || v.ID != rec.VolumeID {
		return Volume{}, false
	}
	if rec.VolumeState == StateMaintenance {
		v.State = StateMaintenance
	}
	return v, true
}

// reconcile brings one torrent (all its replica records) to the wanted state.
func (r *Replicator) reconcile(ctx context.Context, recs []ReplicaRecord) error {
	recs, deleting := r.withoutSurplus(recs)
	if deleting || len(recs) == 0 {
		return nil // this node's trim sweep deletes a copy first
	}
	ih := recs[0].InfoHash
	info, err := r.info(ctx, ih)
	if err != nil {
		return err
	}
	var good []Volume         // verified here, readable
	var broken []Volume       // copying or corrupt here, repairable
	held := map[string]bool{} // this node's volumes holding a replica
	remoteGood := 0
	for _, rec := range recs {
		v, local := r.localVolume(rec)
		if local {
			held[v.Name] = true
		}
		switch {
		case !local:
			if rec.State == ReplicaVerified && rec.VolumeState != StateMaintenance && rec.NodeOnline {
				remoteGood++
			}
		case v.State == StateMaintenance:
			// never read: it neither counts nor serves as a source
		case rec.State == ReplicaPending && r.recheck(ctx, v, ih, info):
			good = append(good, v)
		case rec.State == ReplicaVerified && r.stillGood(ctx, v, ih, info):
			good = append(good, v)
		default:
			broken = append(broken, v)
		}
	}
	if len(good) == 0 {
		return r.fetch(ctx, ih, info, recs, remoteGood)
	}
	var errs []error
	for _, dst := range broken {
		if err := r.repair(ctx, good[0], dst, ih, info); err != nil {
			errs = append(errs, err)
			continue
		}
		good = append(good, dst)
	}
	have := len(good) + remoteGood
	if have >= r.opts.Replicas {
		r.mu.Lock()
		delete(r.short, ih)
		r.mu.Unlock()
	} else if r.leaveToOtherNodes(ih, recs) {
		return errors.Join(errs...)
	}
	for ; have < r.opts.Replicas; have++ {
		dst, ok := r.target(held, recs[0].Size)
		if !ok {
			break
		}
		held[dst.Name] = true
		if err := r.copy(ctx, good[0], dst, ih, info); err != nil {
			errs = append(errs, err)
			break
		}
	}
	return errors.Join(errs...)
}

// stillGood checks a verified replica against its ledger (sizes and
// modification times; a changed or missing file is verified again).
func (r *Replicator) stillGood(ctx context.Context, v Volume, ih string, info *metainfo.Info) bool {
	res, _, err := r.opts.Checker.Check(ctx, v.Name, ih, info)
	if err != nil {
		r.log.Warn("check replica", "info_hash", ih, "volume", v.Name, "err", err)
		return false
	}
	return res.OK() // a bad one was reported (marked corrupt) by the Checker
}

// target picks the active local volume with the most free space that holds
// no replica of the torrent and keeps its reserve after size more bytes.
func (r *Replicator) target(held map[string]bool, size int64) (Volume, bool) {
	var cands []Volume
	free := map[string]int64{}
	for _, v := range r.opts.Volumes.List() {
		if v.State != StateActive || held[v.Name] {
			continue
		}
		f, err := FreeBytes(v.Path)
		if err != nil || f-size < v.Reserve {
			continue
		}
		cands, free[v.Name] = append(cands, v), f
	}
	if len(cands) == 0 {
		return Volume{}, false
	}
	sort.SliceStable(cands, func(i, j int) bool { return free[cands[i].Name] > free[cands[j].Name] })
	return cands[0], true
}

func (r *Replicator) setState(ctx context.Context, ih string, v Volume, state string) error {
	if err := r.opts.Catalog.SetReplicaState(ctx, ih, v.ID, r.opts.Node, state); err != nil {
		return fmt.Errorf("replica of %s on %s: %w", ih, v.Name, err)
	}
	return nil
}

// copy makes a new verified replica on dst from src.
func (r *Replicator) copy(ctx context.Context, src, dst Volume, ih string, info *metainfo.Info) error {
	if err := r.setState(ctx, ih, dst, ReplicaCopying); err != nil {
		return err
	}
	r.log.Info("copying replica", "info_hash", ih, "from", src.Name, "to", dst.Name, "bytes", info.TotalLength())
	start := time.Now()
	res, err := CopyReplica(ctx, r.verifier, src.TorrentDir(ih), dst, ih, info)
	if errors.Is(err, ErrSourceCorrupt) {
		r.opts.Checker.Report(src.Name, ih, res)
	}
	if err != nil {
		return err
	}
	return r.verified(ctx, dst, ih, info, "copied", start)
}

// verified records a freshly checked replica and lets the seeder use it.
func (r *Replicator) verified(ctx context.Context, v Volume, ih string, info *metainfo.Info, how string, start time.Time) error {
	if err := r.opts.Checker.Record(v.Name, ih, info); err != nil {
		return err
	}
	if err := r.setState(ctx, ih, v, ReplicaVerified); err != nil {
		return err
	}
	switch how {
	case "copied", "fetched":
		r.copies.Add(1)
	case "patched":
		r.patches.Add(1)
	}
	r.log.Info("replica verified", "info_hash", ih, "volume", v.Name, "how", how, "took", time.Since(start).Round(time.Millisecond))
	if r.opts.Seeder != nil {
		r.opts.Seeder.Kick()
	}
	return nil
}

// repair rebuilds the replica on dst (copying or corrupt) from src: a
// replica that checks out is just recorded, one with a few bad pieces is
// patched, anything else is copied whole.
func (r *Replicator) repair(ctx context.Context, src, dst Volume, ih string, info *metainfo.Info) error {
	start := time.Now()
	res, err := r.verifier.Verify(ctx, dst.TorrentDir(ih), info)
	if err != nil {
		return err
	}
	if res.OK() {
		return r.verified(ctx, dst, ih, info, "checked", start)
	}
	if res.Damaged || len(res.Bad)*2 > res.Pieces {
		return r.copy(ctx, src, dst, ih, info)
	}
	r.log.Info("patching replica", "info_hash", ih, "volume", dst.Name, "from", src.Name, "bad_pieces", len(res.Bad))
	if err := patchPieces(ctx, src.TorrentDir(ih), dst.TorrentDir(ih), info, res.Bad); err != nil {
		if errors.Is(err, ErrSourceCorrupt) {
			r.opts.Checker.Report(src.Name, ih, Result{Pieces: res.Pieces, Damaged: true})
		}
		return fmt.Errorf("patch %s on %s: %w", ih, dst.Name, err)
	}
	if res, err = r.verifier.Verify(ctx, dst.TorrentDir(ih), info); err != nil {
		return err
	}
	if !res.OK() {
		return fmt.Errorf("patch %s on %s: %d pieces still bad", ih, dst.Name, len(res.Bad))
	}
	return r.verified(ctx, dst, ih, info, "patched", start)
}
