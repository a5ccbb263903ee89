package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/ingest"
)

// revive stores the content of a purged torrent uploaded again and makes
// that torrent active again (same infohash, page and links) instead of
// creating a new one. The staged files are arranged in the purged torrent's
// own layout (its name and file paths may differ from the new upload's:
// a duplicate is recognized by its pieces and file sizes), moved into place
// under the volume's content lock (so a purge still deleting an old copy
// cannot remove the new one), and the catalog records the verified replica.
// Any failure removes what was moved.
func (p *Publisher) revive(ctx context.Context, st *Staged, res *ingest.Result, dup *catalog.Torrent) (Outcome, error) {
	src := st.Dir()
	if res.InfoHash.HexString() != dup.InfoHash {
		arranged, err := arrange(st.Dir(), res, dup)
		if err != nil {
			os.RemoveAll(arranged)
			st.Abort()
			return Outcome{}, fmt.Errorf("revive %s: %w", dup.InfoHash, err)
		}
		st.Abort() // what is left of the staging folder
		src = arranged
	}
	unlock, err := st.Volume.LockContent()
	if err != nil {
		os.RemoveAll(src)
		return Outcome{}, err
	}
	defer unlock()
	final := st.Volume.TorrentDir(dup.InfoHash)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		os.RemoveAll(src)
		return Outcome{}, fmt.Errorf("revive %s: %w", dup.InfoHash, err)
	}
	// Under the lock, whatever is at final is what an unfinished purge
	// left of the old copy: replace it.
	if err := os.RemoveAll(final); err != nil {
		os.RemoveAll(src)
		return Outcome{}, fmt.Errorf("revive %s: remove old copy: %w", dup.InfoHash, err)
	}
	if err := os.Rename(src, final); err != nil {
		os.RemoveAll(src)
		return Outcome{}, fmt.Errorf("revive %s: move into place: %w", dup.InfoHash, err)
	}
	rep := catalog.Replica{VolumeID: st.Volume.ID, VolumeName: st.Volume.Name, Node: p.Node, State: catalog.ReplicaVerified}
	if err := p.Catalog.ReviveTorrent(ctx, dup.ID, rep); err != nil {
		os.RemoveAll(final)
		if errors.Is(err, catalog.ErrConflict) { // revived by someone else meanwhile
			t, gerr := p.Catalog.TorrentByInfoHash(ctx, dup.InfoHash)
			return Outcome{Torrent: t, Duplicate: gerr == nil}, gerr
		}
		return Outcome{}, err
	}
	t, err := p.Catalog.TorrentByInfoHash(ctx, dup.InfoHash)
	if err != nil {
		return Outcome{}, err
	}
	p.Logger.Info("revived a purged torrent by a new upload", "info_hash", t.InfoHash, "volume", st.Volume.Name)
	if p.Published != nil {
		p.Published(t, st.Volume)
	}
	return Outcome{Torrent: t, Revived: true}, nil
}

// arrange moves the finished upload's files into a new folder next to the
// staging folder, laid out as dup's content: <folder>/<dup name>[/<path>].
// The folder's name starts like a staging folder's, so a crash leaves
// nothing that the start-up sweep does not remove.
func arrange(staged string, res *ingest.Result, dup *catalog.Torrent) (string, error) {
	out := staged + "-revive"
	if len(res.Files) != len(dup.Files) {
		return out, fmt.Errorf("file count %d differs from %d", len(res.Files), len(dup.Files))
	}
	for i := range res.Files {
		from := filepath.Join(staged, res.Name)
		if !res.SingleFile {
			from = filepath.Join(append([]string{from}, res.Files[i].Path...)...)
		}
		to := filepath.Join(out, dup.Name)
		if !dup.SingleFile {
			to = filepath.Join(to, filepath.FromSlash(dup.Files[i].Path))
		}
		if !strings.HasPrefix(to, out+string(filepath.Separator)) {
			return out, fmt.Errorf("file path %q leaves the torrent folder", dup.Files[i].Path)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return out, err
		}
		if err := os.Rename(from, to); err != nil {
			return out, err
		}
	}
	return out, nil
}
