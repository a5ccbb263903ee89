package seedbox

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/anacrolix/torrent/metainfo"
)

// replicaStagePrefix names the staging folders of replica copies, so a
// restart can tell them from uploads in progress.
const replicaStagePrefix = "replica-"

// ErrSourceCorrupt means the replica being copied from failed verification.
var ErrSourceCorrupt = errors.New("source replica is corrupt")

// CopyReplica makes dst hold a verified copy of the replica of info stored in
// srcDir: the files are written into dst's staging folder while every piece
// read from the source is checked against the info dict, fsynced, and only
// then renamed into the torrent's folder on dst (replacing whatever was
// there). A crash at any point leaves at most a staging folder behind, which
// CleanStaging removes. A source with a bad piece fails with
// ErrSourceCorrupt and the Result says which pieces.
func CopyReplica(ctx context.Context, v *Verifier, srcDir string, dst Volume, infoHash string, info *metainfo.Info) (Result, error) {
	if err := os.MkdirAll(dst.StagingDir(), 0o755); err != nil {
		return Result{}, fmt.Errorf("copy %s to %s: %w", infoHash, dst.Name, err)
	}
	stage, err := os.MkdirTemp(dst.StagingDir(), replicaStagePrefix+infoHash+"-")
	if err != nil {
		return Result{}, fmt.Errorf("copy %s to %s: %w", infoHash, dst.Name, err)
	}
	res, err := copyInto(ctx, v, srcDir, stage, info)
	if err == nil && !res.OK() {
		err = fmt.Errorf("%w: %d bad pieces in %s", ErrSourceCorrupt, len(res.Bad), srcDir)
	}
	if err == nil {
		err = commitStage(stage, dst.TorrentDir(infoHash))
	}
	if err != nil {
		os.RemoveAll(stage)
		return res, fmt.Errorf("copy %s to %s: %w", infoHash, dst.Name, err)
	}
	return res, nil
}

func copyInto(ctx context.Context, v *Verifier, srcDir, stage string, info *metainfo.Info) (Result, error) {
	w, err := createSpans(torrentFiles(stage, info))
	if err != nil {
		return Result{}, err
	}
	res, err := v.run(ctx, torrentFiles(srcDir, info), info, w.write)
	if cerr := w.syncClose(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncTree(stage)
	}
	return res, err
}

// commitStage renames the verified staging folder into place.
func commitStage(stage, final string) error {
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("remove old copy: %w", err)
	}
	if err := os.Rename(stage, final); err != nil {
		return err
	}
	return errors.Join(syncDir(filepath.Dir(final)), syncDir(filepath.Dir(stage)))
}

// CleanStaging removes the staging folders of replica copies interrupted by
// a crash on the volume.
func CleanStaging(v Volume) (int, error) {
	entries, err := os.ReadDir(v.StagingDir())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("clean staging of %s: %w", v.Name, err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), replicaStagePrefix) && os.RemoveAll(filepath.Join(v.StagingDir(), e.Name())) == nil {
			n++
		}
	}
	return n, nil
}

// spanWriter writes the torrent's byte stream into freshly created files.
type spanWriter struct {
	files []fileSpan
	fds   []*os.File
}

func createSpans(files []fileSpan) (*spanWriter, error) {
	w := &spanWriter{files: files}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			w.syncClose()
			return nil, err
		}
		fd, err := os.OpenFile(f.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			w.syncClose()
			return nil, err
		}
		w.fds = append(w.fds, fd)
	}
	return w, nil
}

// write puts b at offset off of the stream.
func (w *spanWriter) write(off int64, b []byte) error {
	return forSpans(w.files, off, int64(len(b)), func(i int, at int64, lo, hi int64) error {
		_, err := w.fds[i].WriteAt(b[lo:hi], at)
		return err
	})
}

func (w *spanWriter) syncClose() error {
	var errs []error
	for _, fd := range w.fds {
		errs = append(errs, fd.Sync(), fd.Close())
	}
	w.fds = nil
	return errors.Join(errs...)
}

// forSpans calls fn for each file overlapping [off, off+n) of the stream with
// the file index, the offset in that file and the range [lo, hi) of the
// caller's buffer that falls in it.
func forSpans(files []fileSpan, off, n int64, fn func(i int, at, lo, hi int64) error) error {
	end := off + n
	for i, f := range files {
		fEnd := f.offset + f.length
		if f.length == 0 || fEnd <= off || f.offset >= end {
			continue
		}
		lo, hi := max(off, f.offset), min(end, fEnd)
		if err := fn(i, lo-f.offset, lo-off, hi-off); err != nil {
			return err
		}
	}
	return nil
}

// patchPieces rewrites the given pieces of the replica in dstDir with the
// bytes of the replica in srcDir, checking each source piece against the
// info dict before writing it, and fsyncs what it wrote. The files of dstDir
// must exist with their right sizes.
func patchPieces(ctx context.Context, srcDir, dstDir string, info *metainfo.Info, pieces []int) error {
	src, dst := torrentFiles(srcDir, info), torrentFiles(dstDir, info)
	in := make([]*os.File, len(src))
	out := make([]*os.File, len(dst))
	defer func() {
		for _, f := range in {
			if f != nil {
				f.Close()
			}
		}
		for _, f := range out {
			if f != nil {
				f.Close()
			}
		}
	}()
	buf := make([]byte, info.PieceLength)
	for _, p := range pieces {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := int64(p) * info.PieceLength
		b := buf[:min(info.PieceLength, info.TotalLength()-off)]
		if err := readPiece(src, in, off, b); err != nil {
			return fmt.Errorf("read piece %d: %w", p, err)
		}
		if sum := sha1.Sum(b); !bytes.Equal(sum[:], info.Pieces[p*20:p*20+20]) {
			return fmt.Errorf("%w: piece %d", ErrSourceCorrupt, p)
		}
		if err := writePiece(dst, out, off, b); err != nil {
			return fmt.Errorf("write piece %d: %w", p, err)
		}
	}
	var errs []error
	for _, f := range out {
		if f != nil {
			errs = append(errs, f.Sync())
		}
	}
	return errors.Join(errs...)
}

func readPiece(files []fileSpan, fds []*os.File, off int64, b []byte) error {
	return forSpans(files, off, int64(len(b)), func(i int, at, lo, hi int64) error {
		if fds[i] == nil {
			f, err := os.Open(files[i].path)
			if err != nil {
				return err
			}
			fds[i] = f
		}
		_, err := fds[i].ReadAt(b[lo:hi], at)
		return err
	})
}

func writePiece(files []fileSpan, fds []*os.File, off int64, b []byte) error {
	return forSpans(files, off, int64(len(b)), func(i int, at, lo, hi int64) error {
		if fds[i] == nil {
			f, err := os.OpenFile(files[i].path, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			fds[i] = f
		}
		_, err := fds[i].WriteAt(b[lo:hi], at)
		return err
	})
}

// syncTree fsyncs every folder under root (files were synced when written).
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syncDir(p)
	})
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
