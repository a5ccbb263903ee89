package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// Applier carries out plans on one node and finishes purges a crash left
// half done. A purge runs in three steps, each safe to interrupt:
//
//  1. catalog: the torrent becomes purged and the purge is recorded
//     (catalog.StartPurge), so it is never again shown or seeded as active;
//  2. this node's copies are deleted, each under the volume's content lock,
//     after checking the catalog still wants it gone (a re-upload may have
//     revived the torrent meanwhile);
//  3. catalog: each deleted copy's replica row goes; the purge is finished
//     when none is left (other nodes delete their own copies with Sweep).
//
// A restart runs Sweep, which redoes steps 2 and 3 for every purged torrent
// that still has a replica on this node.
type Applier struct {
	Catalog *catalog.Catalog
	Volumes *seedbox.Volumes // this node's volumes
	Node    string
	// BeforeDelete is called before a torrent's data is deleted, to stop
	// seeding it (the seeder drops purged torrents on its own within its
	// poll interval). It may be nil.
	BeforeDelete func(infoHash string)
	Logger       *slog.Logger
}

// Result is what Apply did.
type Result struct {
	Purged  []Purge          `json:"purged"`
	Skipped []Skipped        `json:"skipped,omitempty"`
	Freed   map[string]int64 `json:"freed"` // bytes deleted on this node, by volume
}

// Skipped is a planned purge that did not happen.
type Skipped struct {
	InfoHash string `json:"info_hash"`
	Why      string `json:"why"`
}

func (a *Applier) log() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}

// Apply purges every torrent of the plan, recording actor ("auto" or
// "cli:<user>") as who did it. It first finishes purges left half done.
// A torrent that stopped being active since the plan was made is skipped.
func (a *Applier) Apply(ctx context.Context, plan Plan, actor string) (Result, error) {
	res := Result{Freed: map[string]int64{}}
	if _, err := a.sweep(ctx, res.Freed); err != nil {
		return res, err
	}
	for _, pu := range plan.Purges {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		err := a.Catalog.StartPurge(ctx, pu.TorrentID, pu.Rule, pu.Reason, actor, pu.Size)
		if errors.Is(err, catalog.ErrConflict) || errors.Is(err, catalog.ErrNotFound) {
			res.Skipped = append(res.Skipped, Skipped{InfoHash: pu.InfoHash, Why: "no longer active"})
			continue
		}
		if err != nil {
			return res, err
		}
		a.log().Info("retention: purging", "info_hash", pu.InfoHash, "rule", pu.Rule, "by", actor, "reason", pu.Reason)
		for _, r := range pu.Replicas {
			if r.Node != a.Node {
				continue // that node's Sweep deletes its copy
			}
			if err := a.deleteCopy(ctx, pu.TorrentID, pu.InfoHash, r.VolumeID, r.Volume, pu.Size, res.Freed); err != nil {
				return res, err
			}
		}
		res.Purged = append(res.Purged, pu)
	}
	return res, nil
}

// Sweep deletes this node's copies of purged torrents that are still on
// disk (a purge in progress elsewhere, or one a crash interrupted) and
// returns how many it deleted.
func (a *Applier) Sweep(ctx context.Context) (int, error) {
	return a.sweep(ctx, map[string]int64{})
}

func (a *Applier) sweep(ctx context.Context, freed map[string]int64) (int, error) {
	work, err := a.Catalog.PurgeWork(ctx, a.Node)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, w := range work {
		size, err := dirSize(a.dirOf(w.VolumeName, w.InfoHash))
		if err != nil {
			size = 0
		}
		if err := a.deleteCopy(ctx, w.TorrentID, w.InfoHash, w.VolumeID, w.VolumeName, size, freed); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func (a *Applier) dirOf(volume, infoHash string) string {
	v, ok := a.Volumes.ByName(volume)
	if !ok {
		return ""
	}
	return v.TorrentDir(infoHash)
}

// errMaintenance: a volume in maintenance is neither read nor written; its
// copies are deleted once it is back.
var errMaintenance = errors.New("volume is in maintenance")

// deleteCopy deletes one copy of a purged torrent under the volume's lock and
// forgets its replica row.
func (a *Applier) deleteCopy(ctx context.Context, torrentID uint64, ih string, volumeID uint64, volume string, size int64, freed map[string]int64) error {
	v, ok := a.Volumes.ByName(volume)
	if !ok {
		return fmt.Errorf("delete %s: volume %q is not one of this node's volumes", ih, volume)
	}
	if v.State == seedbox.StateMaintenance {
		a.log().Info("retention: copy left for later", "info_hash", ih, "volume", volume, "why", errMaintenance)
		return nil
	}
	unlock, err := v.LockContent()
	if err != nil {
		return err
	}
	defer unlock()
	pending, err := a.Catalog.PurgePending(ctx, torrentID, volumeID)
	if err != nil || !pending {
		return err // revived or already done
	}
	if a.BeforeDelete != nil {
		a.BeforeDelete(ih)
	}
	dir := v.TorrentDir(ih)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("delete %s on volume %s: %w", ih, volume, err)
	}
	os.Remove(filepath.Dir(dir)) // the <ih[0:2]> shard folder, if now empty
	if err := a.Catalog.FinishPurgeReplica(ctx, torrentID, volumeID); err != nil {
		return err
	}
	freed[volume] += size
	return nil
}

// dirSize is the bytes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	if dir == "" {
		return 0, nil
	}
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// Leader tells whether this node runs the scheduled retention. With several
// nodes sharing a catalog only one should (issue 6); a single node always
// leads.
type Leader interface {
	Leading(ctx context.Context) bool
}

// Always is the Leader of a single node.
type Always struct{}

// Leading is always true.
func (Always) Leading(context.Context) bool { return true }
