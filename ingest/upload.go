package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Permissions of staged directories and files (before the umask).
const (
	dirPerm  = 0o755
	filePerm = 0o644
)

// copyBufferSize is the size of the buffer that streams a file to disk.
const copyBufferSize = 1 << 20

var copyBufPool = sync.Pool{New: func() any {
	b := make([]byte, copyBufferSize)
	return &b
}}

// Upload stages the files of one upload in a directory and hashes them in
// the same pass. Every file lives at filepath.Join(Dir(), path...) until
// Finish arranges the torrent layout.
//
// An Upload is used by one goroutine. It must end with a successful Finish
// or with Abort, which is also right after Finish when the content is not
// kept (a duplicate, a failed commit).
type Upload struct {
	dir    string
	root   *os.Root
	hasher *Hasher
	files  []File          // arrival order, staged paths
	kinds  map[string]bool // "/"-joined staged path: true for a file, false for a directory

	finishing bool  // Finish was called: no more files
	finished  bool  // Finish succeeded
	failed    error // the upload is unusable
}

var (
	errFinished = errors.New("upload already finished")
	errAborted  = errors.New("upload aborted")
)

// NewUpload creates dir (which must not exist yet; its parent is created if
// needed) and starts an Upload in it.
//
// expectedTotal is the caller's estimate of the total bytes, such as a
// request's Content-Length, or -1 if unknown. It picks the piece length of
// the streaming pass; when it picks the wrong one, Finish hashes again. An
// unknown size assumes a small upload (16 KiB pieces, right up to 32 MiB).
func NewUpload(dir string, expectedTotal int64) (*Upload, error) {
	if err := os.MkdirAll(filepath.Dir(dir), dirPerm); err != nil {
		return nil, fmt.Errorf("new upload: %w", err)
	}
	if err := os.Mkdir(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("new upload: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("new upload: %w", err)
	}
	return &Upload{
		dir:    dir,
		root:   root,
		hasher: NewHasher(PieceLength(expectedTotal)),
		kinds:  make(map[string]bool),
	}, nil
}

// Dir is the staging directory. After Finish, filepath.Join(Dir(), Name) is
// the torrent's single file or root folder.
func (u *Upload) Dir() string { return u.dir }

// AddFile sanitizes relPath (see SanitizePath), creates the file, streams r
// into it while hashing, and returns the bytes written. Zero-length files are
// kept.
//
// A bad name, a duplicate path or a path that conflicts with an earlier file
// or directory gives an error wrapping ErrBadName; nothing was written and the
// Upload can go on. Any other error (reading r, writing the file) leaves the
// partial file in place until Abort and makes the Upload unusable.
func (u *Upload) AddFile(relPath string, r io.Reader) (int64, error) {
	if err := u.usable(); err != nil {
		return 0, fmt.Errorf("add file: %w", err)
	}
	if u.finishing {
		return 0, fmt.Errorf("add file: %w", errFinished)
	}
	path, err := SanitizePath(relPath)
	if err != nil {
		return 0, fmt.Errorf("add file: %w", err)
	}
	if err := u.claim(path); err != nil {
		return 0, fmt.Errorf("add file: %w", err)
	}
	n, err := u.write(path, r)
	if err != nil {
		u.failed = err
		return n, fmt.Errorf("add file %q: %w", strings.Join(path, "/"), err)
	}
	u.files = append(u.files, File{Path: path, Length: n})
	return n, nil
}

// Abort stops hashing and removes the staging directory with everything in
// it. It is safe to call more than once and after Finish.
func (u *Upload) Abort() error {
	u.release()
	if u.failed == nil {
		u.failed = errAborted
	}
	if err := os.RemoveAll(u.dir); err != nil {
		return fmt.Errorf("abort upload: %w", err)
	}
	return nil
}

func (u *Upload) usable() error {
	if u.failed != nil {
		return fmt.Errorf("upload unusable: %w", u.failed)
	}
	if u.finished {
		return errFinished
	}
	return nil
}

// claim records path as a file, refusing duplicates and file/directory
// conflicts with earlier paths.
func (u *Upload) claim(path []string) error {
	key := strings.Join(path, "/")
	if _, ok := u.kinds[key]; ok {
		return badName(key, "duplicate path")
	}
	for i := 1; i < len(path); i++ {
		if u.kinds[strings.Join(path[:i], "/")] {
			return badName(key, "a parent is a file")
		}
	}
	for i := 1; i < len(path); i++ {
		u.kinds[strings.Join(path[:i], "/")] = false
	}
	u.kinds[key] = true
	return nil
}

// write creates the file at path and streams r into it and the hasher.
func (u *Upload) write(path []string, r io.Reader) (int64, error) {
	if len(path) > 1 {
		if err := u.root.MkdirAll(filepath.Join(path[:len(path)-1]...), dirPerm); err != nil {
			return 0, err
		}
	}
	f, err := u.root.OpenFile(filepath.Join(path...), os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return 0, err
	}
	n, err := tee(f, u.hasher, r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return n, err
}

// tee copies r to h and, unless it is nil, to w, through a pooled buffer.
// It fills the buffer before each write: readers such as a multipart part
// hand out a few KiB per Read, and one write per KiB would cost a system call
// and a hasher call each.
func tee(w io.Writer, h *Hasher, r io.Reader) (int64, error) {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	var n int64
	for {
		k, rerr := fill(r, buf)
		if k > 0 {
			if w != nil {
				if _, err := w.Write(buf[:k]); err != nil {
					return n, err
				}
			}
			if _, err := h.Write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
		}
		switch {
		case rerr == nil:
		case rerr == io.EOF:
			return n, nil
		default:
			return n, fmt.Errorf("read: %w", rerr)
		}
	}
}

// fill reads until buf is full or r ends. Unlike io.ReadFull it keeps the
// reader's own error (a truncated body may report io.ErrUnexpectedEOF itself)
// and returns io.EOF for a clean end.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// release stops the hasher and closes the root; safe to call more than once.
func (u *Upload) release() {
	u.hasher.Close()
	if u.root != nil {
		u.root.Close()
		u.root = nil
	}
}
