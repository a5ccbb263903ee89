package uploadclient

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// localFile is one file to upload.
type localFile struct {
	abs         string
	rel         string // the name sent: the file's name, or folder/relative/path
	size        int64
	fingerprint string // identifies this file's upload across runs
}

// fileSet is what one path argument uploads.
type fileSet struct {
	root   string
	folder string // folder id shared by the files of a folder; "" for one file
	files  []localFile
	total  int64
}

// collect lists a file, or a folder's regular files in path order. The
// folder id and the fingerprints derive from the paths, sizes and
// modification times, so a new run resumes the same uploads and a changed
// file starts afresh.
func collect(path string) (*fileSet, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	set := &fileSet{root: abs}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file or a folder", path)
		}
		set.files = []localFile{{abs: abs, rel: filepath.Base(abs), size: fi.Size()}}
		set.total = fi.Size()
		set.files[0].fingerprint = fingerprint(abs, fi, "")
		return set, nil
	}
	if err := set.walk(abs); err != nil {
		return nil, err
	}
	if len(set.files) == 0 {
		return nil, fmt.Errorf("%s: the folder has no files", path)
	}
	h := sha256.New()
	for _, f := range set.files {
		fmt.Fprintf(h, "%s\x00%d\x00%s\n", f.rel, f.size, f.fingerprint)
	}
	set.folder = hex.EncodeToString(h.Sum(nil)[:16])
	for i := range set.files {
		set.files[i].fingerprint = hashString(set.folder + "\x00" + set.files[i].fingerprint)
	}
	return set, nil
}

// restart gives the set's uploads new identities for its n-th fresh start:
// a folder gets a new folder id, so its files gather on one node again,
// apart from what the lost attempt left.
func (s *fileSet) restart(n int) {
	if s.folder == "" {
		return
	}
	s.folder = hashString(fmt.Sprintf("%s\x00restart %d", s.folder, n))[:32]
	for i := range s.files {
		s.files[i].fingerprint = hashString(fmt.Sprintf("%s\x00restart %d", s.files[i].fingerprint, n))
	}
}

func (s *fileSet) walk(abs string) error {
	base := filepath.Base(abs)
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil // symlinks and devices are not uploaded
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		name := base + "/" + filepath.ToSlash(rel)
		s.files = append(s.files, localFile{abs: p, rel: name, size: fi.Size(), fingerprint: fingerprint(p, fi, name)})
		s.total += fi.Size()
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(s.files, func(i, j int) bool { return s.files[i].rel < s.files[j].rel })
	if len(s.files) > 10000 {
		return errors.New("a folder may hold at most 10000 files")
	}
	return nil
}

func fingerprint(abs string, fi fs.FileInfo, rel string) string {
	return hashString(strings.Join([]string{abs, rel, fmt.Sprint(fi.Size()), fmt.Sprint(fi.ModTime().UnixNano())}, "\x00"))
}

func hashString(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}
