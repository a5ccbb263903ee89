package ingest

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/anacrolix/torrent/metainfo"
)

// Result describes a finished upload: the torrent's layout, its piece hashes
// and its private v1 info dict.
type Result struct {
	Name string
	// Files in torrent order, with paths relative to the torrent root. A
	// single-file torrent has one File whose Path is []string{Name}.
	Files       []File
	SingleFile  bool
	Size        int64
	PieceLength int64
	Pieces      []byte
	MD510M      string        // MD5 of the first DedupePrefix bytes, 32 lowercase hex digits
	Info        metainfo.Info // built by BuildInfo; Private is true
	InfoBytes   []byte        // the bencoded info dict
	InfoHash    metainfo.Hash
}

// layout is the torrent shape Finish decided on.
type layout struct {
	name   string
	single bool
	order  []int  // indexes of the staged files, in torrent order
	files  []File // torrent paths, in torrent order
	top    string // the staged top-level entry that becomes the root; "" to gather all into a new root
}

// Finish decides the torrent layout, hashes again if needed, builds the info
// dict and arranges the staged files so that filepath.Join(Dir(), Name) is
// the single file or the root folder of the torrent, the layout anacrolix's
// file storage expects under a torrent directory.
//
// The layout:
//   - name, if not empty, is the torrent name; it must be one path component
//     and not "-" (metainfo.NoName), which is also refused as a derived name.
//   - One file at the top level gives a single-file torrent named name or the
//     file's own name (the file is renamed on disk if they differ).
//   - Files that all share their first path component form a multi-file
//     torrent rooted at that folder. The folder's name is the torrent name
//     unless name overrides it (the folder is then renamed on disk).
//   - Other files need a name (otherwise an error wrapping ErrBadName); they
//     are moved into a new root folder of that name.
//
// Files are in canonical order: sorted by torrent path, component by
// component, bytewise. If they arrived in another order, or the piece length
// of the actual total differs from the streaming one, the staged files are
// hashed again in canonical order, so the same content always gives the same
// pieces. An upload with no bytes at all fails with ErrEmpty.
//
// After an error wrapping ErrBadName or ErrEmpty nothing changed on disk and
// Finish may be called again (say, with a name); no more files can be added
// either way.
func (u *Upload) Finish(name string) (*Result, error) {
	if err := u.usable(); err != nil {
		return nil, fmt.Errorf("finish upload: %w", err)
	}
	u.finishing = true
	l, err := planLayout(u.files, name)
	if err != nil {
		return nil, fmt.Errorf("finish upload: %w", err)
	}
	res, err := u.finish(l)
	if err != nil {
		u.failed = err
		return nil, fmt.Errorf("finish upload: %w", err)
	}
	u.finished = true
	u.release()
	return res, nil
}

func (u *Upload) finish(l layout) (*Result, error) {
	s, err := u.sums(l.order)
	if err != nil {
		return nil, err
	}
	info, infoBytes, ih, err := BuildInfo(l.name, l.files, l.single, s)
	if err != nil {
		return nil, err
	}
	if err := u.arrange(l); err != nil {
		return nil, fmt.Errorf("arrange files: %w", err)
	}
	return &Result{
		Name:        l.name,
		Files:       l.files,
		SingleFile:  l.single,
		Size:        s.Length,
		PieceLength: s.PieceLength,
		Pieces:      s.Pieces,
		MD510M:      hex.EncodeToString(s.MD510M[:]),
		Info:        info,
		InfoBytes:   infoBytes,
		InfoHash:    ih,
	}, nil
}

func planLayout(staged []File, name string) (layout, error) {
	if len(staged) == 0 {
		return layout{}, fmt.Errorf("%w: no files", ErrEmpty)
	}
	l := layout{order: canonicalOrder(staged)}
	if err := l.chooseRoot(staged, name); err != nil {
		return layout{}, err
	}
	var total int64
	for _, i := range l.order {
		total += staged[i].Length
		l.files = append(l.files, File{Path: l.torrentPath(staged[i].Path), Length: staged[i].Length})
	}
	if total == 0 {
		return layout{}, fmt.Errorf("%w: all files are empty", ErrEmpty)
	}
	return l, nil
}

// chooseRoot decides between a single-file and a multi-file torrent, its
// name, and which staged entry becomes its root.
func (l *layout) chooseRoot(staged []File, name string) error {
	switch root, shared := sharedRoot(staged); {
	case len(staged) == 1 && len(staged[0].Path) == 1:
		l.single, l.top = true, staged[0].Path[0]
		l.name = cmp.Or(name, l.top)
	case shared:
		l.top, l.name = root, cmp.Or(name, root)
	case name == "":
		return fmt.Errorf("%w: a name is required when the files do not share one top-level folder", ErrBadName)
	default:
		l.name = name
	}
	if err := checkTorrentName(l.name); err != nil {
		return fmt.Errorf("torrent name: %w", err)
	}
	return nil
}

func (l layout) torrentPath(staged []string) []string {
	switch {
	case l.single:
		return []string{l.name}
	case l.top != "":
		return slices.Clone(staged[1:])
	}
	return slices.Clone(staged)
}

// canonicalOrder returns the indexes of files sorted by path.
func canonicalOrder(files []File) []int {
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	// Sorted by the '/'-joined path, as mktorrent and anacrolix's
	// BuildFromFilePath order a folder, so our infohashes match theirs.
	slices.SortFunc(order, func(a, b int) int {
		return strings.Compare(strings.Join(files[a].Path, "/"), strings.Join(files[b].Path, "/"))
	})
	return order
}

// sharedRoot reports whether every file is inside one top-level folder, and
// which.
func sharedRoot(files []File) (string, bool) {
	root := files[0].Path[0]
	for _, f := range files {
		if len(f.Path) < 2 || f.Path[0] != root {
			return "", false
		}
	}
	return root, true
}

// sums returns the streaming sums if they match the canonical stream, and
// hashes the staged files again in canonical order otherwise.
func (u *Upload) sums(order []int) (Sums, error) {
	s := u.hasher.Sum()
	want := PieceLength(s.Length)
	if s.PieceLength == want && u.arrivedInOrder(order) {
		return s, nil
	}
	h := NewHasher(want)
	defer h.Close()
	for _, i := range order {
		if err := u.hashStaged(h, u.files[i]); err != nil {
			return Sums{}, fmt.Errorf("hash again: %w", err)
		}
	}
	return h.Sum(), nil
}

// arrivedInOrder reports whether the bytes were streamed in canonical order.
// Empty files add no bytes, so where they came does not matter.
func (u *Upload) arrivedInOrder(order []int) bool {
	arrived := 0
	for _, i := range order {
		if u.files[i].Length == 0 {
			continue
		}
		for u.files[arrived].Length == 0 {
			arrived++
		}
		if arrived != i {
			return false
		}
		arrived++
	}
	return true
}

func (u *Upload) hashStaged(h *Hasher, f File) error {
	r, err := u.root.Open(filepath.Join(f.Path...))
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := tee(nil, h, r)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Name(), err)
	}
	if n != f.Length {
		return fmt.Errorf("%s: has %d bytes, %d were uploaded", r.Name(), n, f.Length)
	}
	return nil
}

// arrange moves the staged files so that the torrent's root is at l.name.
func (u *Upload) arrange(l layout) error {
	if l.top != "" {
		if l.top == l.name {
			return nil
		}
		return u.root.Rename(l.top, l.name)
	}
	tmp, err := u.tempDir()
	if err != nil {
		return err
	}
	for _, top := range u.topLevel() {
		if err := u.root.Rename(top, filepath.Join(tmp, top)); err != nil {
			return err
		}
	}
	return u.root.Rename(tmp, l.name)
}

// tempDir creates a directory whose name no staged path uses.
func (u *Upload) tempDir() (string, error) {
	for i := range 1000 {
		name := fmt.Sprintf(".ingest-root-%d", i)
		if _, taken := u.kinds[name]; taken {
			continue
		}
		if err := u.root.Mkdir(name, dirPerm); !errors.Is(err, fs.ErrExist) {
			return name, err
		}
	}
	return "", errors.New("no free temporary directory name")
}

// topLevel returns the distinct first components of the staged paths.
func (u *Upload) topLevel() []string {
	var tops []string
	for key := range u.kinds {
		if !strings.Contains(key, "/") {
			tops = append(tops, key)
		}
	}
	return tops
}
