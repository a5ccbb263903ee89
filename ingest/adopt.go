package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AdoptFile moves a file that is already complete on disk (such as a finished
// resumable upload) into the upload under relPath and hashes it, in one read
// pass and without copying its bytes: src must be on the same filesystem as
// Dir(). Adopting files in canonical (sorted path) order, with the Upload
// created for their exact total, lets Finish keep the streaming sums.
//
// Name errors wrap ErrBadName and leave src where it was; after any other
// error the Upload is unusable and src may already have moved into Dir().
func (u *Upload) AdoptFile(relPath, src string) (int64, error) {
	if err := u.usable(); err != nil {
		return 0, fmt.Errorf("adopt file: %w", err)
	}
	if u.finishing {
		return 0, fmt.Errorf("adopt file: %w", errFinished)
	}
	path, err := SanitizePath(relPath)
	if err != nil {
		return 0, fmt.Errorf("adopt file: %w", err)
	}
	if err := u.claim(path); err != nil {
		return 0, fmt.Errorf("adopt file: %w", err)
	}
	n, err := u.adopt(path, src)
	if err != nil {
		u.failed = err
		return n, fmt.Errorf("adopt file %q: %w", strings.Join(path, "/"), err)
	}
	u.files = append(u.files, File{Path: path, Length: n})
	return n, nil
}

// adopt renames src to path inside the staging directory and streams it
// through the hasher. The parents are created through the root, so no
// component can be a symlink out of it; the staging directory is ours and
// its sanitized paths hold no links.
func (u *Upload) adopt(path []string, src string) (int64, error) {
	rel := filepath.Join(path...)
	if len(path) > 1 {
		if err := u.root.MkdirAll(filepath.Dir(rel), dirPerm); err != nil {
			return 0, err
		}
	}
	if _, err := u.root.Lstat(rel); err == nil {
		return 0, fmt.Errorf("%s already exists", rel)
	}
	if err := os.Rename(src, filepath.Join(u.dir, rel)); err != nil {
		return 0, err
	}
	f, err := u.root.Open(rel)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return tee(nil, u.hasher, f)
}
