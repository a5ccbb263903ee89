package seedbox

import (
	"context"
	"errors"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// A node that restarts, or returns after being offline longer than the
// catalog's node timeout, finds its verified replicas "pending" (the
// catalog sets them on its first beat): they may be stale or damaged, so
// they count for nothing, are not seeded and are not served by the web
// seed until this node checked them again. recheck does that on the
// replicator's next pass, which a return kicks at once.

// Settled is closed once Serve has checked the replicas this node found
// pending at start: those still good are verified and seeded again.
func (r *Replicator) Settled() <-chan struct{} { return r.settled }

// recheckPending checks every pending replica on this node's readable
// volumes, before the first pass: a clean restart is then seeding all it
// holds as soon as the ledger has vouched for it, without waiting for the
// copies and fetches a pass may also have to make.
func (r *Replicator) recheckPending(ctx context.Context) error {
	recs, err := r.opts.Catalog.ActiveReplicas(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, rec := range recs {
		if ctx.Err() != nil {
			return nil
		}
		v, local := r.localVolume(rec)
		if !local || rec.State != ReplicaPending || v.State == StateMaintenance {
			continue
		}
		info, err := r.info(ctx, rec.InfoHash)
		if err != nil { // the others are still checked; a pass retries this one
			errs = append(errs, err)
			continue
		}
		r.recheck(ctx, v, rec.InfoHash, info)
	}
	return errors.Join(errs...)
}

// recheck asks the Checker about a pending replica on this node: it is
// verified piece by piece unless the volume's ledger still vouches for it
// (a clean shutdown since it was last verified and every file unchanged in
// size and modification time, the same rule as a fast start; after a crash
// the ledger vouches for nothing). A good replica is recorded verified and
// the seeder is told; a bad one was reported by the Checker (marked
// corrupt, repaired like any other). It tells whether the replica is good.
func (r *Replicator) recheck(ctx context.Context, v Volume, ih string, info *metainfo.Info) bool {
	start := time.Now()
	res, trusted, err := r.opts.Checker.Check(ctx, v.Name, ih, info)
	if err != nil {
		r.log.Warn("check returning replica", "info_hash", ih, "volume", v.Name, "err", err)
		return false
	}
	if !res.OK() {
		return false
	}
	how := "re-verified"
	if trusted {
		how = "vouched for by the ledger"
	}
	if err := r.verified(ctx, v, ih, info, how, start); err != nil {
		r.log.Warn("record returning replica", "info_hash", ih, "volume", v.Name, "err", err)
		return false
	}
	return true
}

// withoutSurplus drops the surplus copies from a torrent's records: they
// neither count nor serve as sources. deleting tells whether one of them is
// on this node, whose trim sweep is about to delete it; the torrent is then
// left alone until it is gone, so nothing is copied into a folder being
// deleted.
func (r *Replicator) withoutSurplus(recs []ReplicaRecord) (kept []ReplicaRecord, deleting bool) {
	kept = recs[:0:0]
	for _, rec := range recs {
		if rec.State != ReplicaSurplus {
			kept = append(kept, rec)
			continue
		}
		if _, local := r.localVolume(rec); local {
			deleting = true
		}
	}
	return kept, deleting
}
