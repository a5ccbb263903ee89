// Package seedbox keeps every stored torrent seeded. It owns the storage
// volumes (placement of new uploads, the on-disk layout derived from the
// infohash) and an anacrolix/torrent client that seeds from them and
// announces to Seedbed's own tracker like any other peer.
package seedbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// Volume states.
const (
	StateActive      = "active"      // takes new uploads and serves
	StateReadonly    = "readonly"    // serves, takes nothing new
	StateMaintenance = "maintenance" // neither read nor written
)

// Placement policies.
const (
	PlaceMostFree   = "most-free"
	PlaceRoundRobin = "round-robin"
	PlaceForced     = "forced"
)

// ErrNoVolume means no volume can take a new upload right now.
var ErrNoVolume = errors.New("no volume can take new uploads")

// Volume is one storage location of this node.
type Volume struct {
	ID      uint64
	Name    string
	Path    string
	State   string
	Reserve int64 // free bytes below which the volume takes nothing new
	// Capacity caps what the volume may hold (0: the file system's size);
	// Used is the content the catalog places on it, which counts against
	// the cap.
	Capacity int64
	Used     int64
}

// Volumes is the set of this node's volumes and the placement policy.
type Volumes struct {
	mu     sync.Mutex
	vols   []Volume
	policy string
	forced string
	next   int
}

// NewVolumes creates the volume set; it makes each volume's folder.
func NewVolumes(vols []Volume, policy, forced string) (*Volumes, error) {
	for _, v := range vols {
		if v.State == StateMaintenance {
			continue
		}
		if err := os.MkdirAll(filepath.Join(v.Path, stagingDir), 0o755); err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
	}
	return &Volumes{vols: vols, policy: policy, forced: forced}, nil
}

// List returns a copy of the volumes.
func (vs *Volumes) List() []Volume {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return append([]Volume(nil), vs.vols...)
}

// ByName returns the named volume.
func (vs *Volumes) ByName(name string) (Volume, bool) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	for _, v := range vs.vols {
		if v.Name == name {
			return v, true
		}
	}
	return Volume{}, false
}

// SetPolicy switches placement at runtime (forced needs a volume name).
func (vs *Volumes) SetPolicy(policy, forced string) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	vs.policy, vs.forced = policy, forced
}

// Policy returns the placement policy and the forced volume.
func (vs *Volumes) Policy() (policy, forced string) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return vs.policy, vs.forced
}

// Update replaces the volume set and the placement policy at runtime (an
// administrator changed them in the catalog). Folders of new readable
// volumes are created; a volume that cannot be prepared is kept out of the
// set and reported.
func (vs *Volumes) Update(vols []Volume, policy, forced string) error {
	var errs []error
	keep := vols[:0:0]
	for _, v := range vols {
		if v.State != StateMaintenance {
			if err := os.MkdirAll(filepath.Join(v.Path, stagingDir), 0o755); err != nil {
				errs = append(errs, fmt.Errorf("volume %s: %w", v.Name, err))
				continue
			}
		}
		keep = append(keep, v)
	}
	vs.mu.Lock()
	vs.vols, vs.policy, vs.forced = keep, policy, forced
	vs.mu.Unlock()
	return errors.Join(errs...)
}

// Readable reports whether data on the named volume may be read: it is one
// of this node's volumes and not in maintenance. The seeder and the web seed
// must not serve from a volume that is not readable.
func (vs *Volumes) Readable(name string) bool {
	v, ok := vs.ByName(name)
	return ok && v.State != StateMaintenance
}

// Place picks the volume for a new upload of size bytes (-1 if unknown).
func (vs *Volumes) Place(size int64) (Volume, error) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.policy == PlaceForced {
		for _, v := range vs.vols {
			if v.Name != vs.forced {
				continue
			}
			if v.State != StateActive {
				return Volume{}, fmt.Errorf("%w: forced volume %q is %s", ErrNoVolume, vs.forced, v.State)
			}
			if _, ok := v.fits(size); !ok {
				return Volume{}, fmt.Errorf("%w: forced volume %q is down to its reserve", ErrNoVolume, vs.forced)
			}
			return v, nil
		}
		return Volume{}, fmt.Errorf("%w: forced volume %q is not a volume of this node", ErrNoVolume, vs.forced)
	}
	var cands []Volume
	var free []int64
	for _, v := range vs.vols {
		if v.State != StateActive {
			continue
		}
		f, ok := v.fits(size)
		if !ok {
			continue
		}
		cands, free = append(cands, v), append(free, f)
	}
	if len(cands) == 0 {
		return Volume{}, ErrNoVolume
	}
	if vs.policy == PlaceRoundRobin {
		vs.next++
		return cands[vs.next%len(cands)], nil
	}
	best := 0
	for i := range cands {
		if free[i] > free[best] {
			best = i
		}
	}
	return cands[best], nil
}

// fits returns the volume's free space and whether size more bytes (-1:
// unknown, counted as 0) leave at least the reserve free.
func (v Volume) fits(size int64) (int64, bool) {
	f, err := v.Free()
	if err != nil {
		return 0, false
	}
	return f, f-max(size, 0) >= v.Reserve
}

// Free is the space the volume can still take: the file system's free
// space, bounded by what the capacity cap leaves.
func (v Volume) Free() (int64, error) {
	f, err := FreeBytes(v.Path)
	if err != nil {
		return 0, err
	}
	if v.Capacity > 0 {
		f = min(f, max(v.Capacity-v.Used, 0))
	}
	return f, nil
}

// Usage is how full the volume is, for retention: with a capacity cap, the
// content the catalog places on it against the cap; otherwise the file
// system's used bytes against its size.
func (v Volume) Usage() (used, capacity int64, err error) {
	if v.Capacity > 0 {
		return v.Used, v.Capacity, nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(v.Path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", v.Path, err)
	}
	return int64(st.Blocks-st.Bfree) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}

// FreeBytes is the space available to unprivileged writers at path.
func FreeBytes(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

const stagingDir = ".staging"

// StagingDir is where uploads to v are written before they are hashed and
// committed; it lives on the same file system so the final move is a rename.
func (v Volume) StagingDir() string { return filepath.Join(v.Path, stagingDir) }

// TorrentDir is the folder holding a torrent's content on v; it depends only
// on the infohash (40 lowercase hex), so a volume can be remounted elsewhere.
func (v Volume) TorrentDir(infoHash string) string {
	return TorrentDir(v.Path, infoHash)
}

// TorrentDir is the content folder of infoHash under a volume root.
func TorrentDir(root, infoHash string) string {
	if len(infoHash) < 2 {
		return filepath.Join(root, "_", infoHash)
	}
	return filepath.Join(root, infoHash[:2], infoHash)
}
