package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/seedbed/seedbed/publish"
	"github.com/seedbed/seedbed/seedbox"
)

// tusDirName is the folder of resumable uploads inside a volume's staging
// folder. publish.Sweep leaves it alone except for entries older than the
// configured age.
const tusDirName = publish.TusDir

// tusID names one resumable upload: the volume that holds its bytes, the
// user who owns it and the folder it belongs to ("s" for a single upload)
// are part of the ID, so every request finds its data without a lookup and
// nobody can touch another user's upload. Form: <vol>-<user>-<folder>-<rand>.
type tusID struct {
	Volume uint64
	User   uint64
	Folder string // "s", or "f" + 16 hex digits derived from the user and the client's folder id
	Rand   string
}

func (id tusID) String() string {
	return fmt.Sprintf("%d-%d-%s-%s", id.Volume, id.User, id.Folder, id.Rand)
}

// siblingsPattern matches the .info files of every upload of id's folder.
func (id tusID) siblingsPattern() string {
	return fmt.Sprintf("%d-%d-%s-*.info", id.Volume, id.User, id.Folder)
}

func newTusID(vol, user uint64, folder string) tusID {
	var b [16]byte
	rand.Read(b[:])
	key := "s"
	if folder != "" {
		h := sha256.Sum256([]byte(strconv.FormatUint(user, 10) + "/" + folder))
		key = "f" + hex.EncodeToString(h[:8])
	}
	return tusID{Volume: vol, User: user, Folder: key, Rand: hex.EncodeToString(b[:])}
}

func parseTusID(s string) (tusID, error) {
	parts := strings.Split(s, "-")
	bad := fmt.Errorf("upload id %q: %w", s, handler.ErrNotFound)
	if len(parts) != 4 || len(parts[3]) != 32 || strings.Trim(parts[3], "0123456789abcdef") != "" {
		return tusID{}, bad
	}
	vol, err1 := strconv.ParseUint(parts[0], 10, 64)
	user, err2 := strconv.ParseUint(parts[1], 10, 64)
	f := parts[2]
	okFolder := f == "s" || (len(f) == 17 && f[0] == 'f' && strings.Trim(f[1:], "0123456789abcdef") == "")
	canonical := strconv.FormatUint(vol, 10) == parts[0] && strconv.FormatUint(user, 10) == parts[1]
	if err1 != nil || err2 != nil || !okFolder || !canonical {
		return tusID{}, bad
	}
	return tusID{Volume: vol, User: user, Folder: f, Rand: parts[3]}, nil
}

// tusStore keeps each upload in the tus folder of the volume its ID names,
// with tusd's filestore and filelocker there: partial uploads never leave
// the volume they will be stored on, so finishing one is a rename.
type tusStore struct {
	volumes *seedbox.Volumes
}

func (s tusStore) dir(volID uint64) (string, error) {
	if s.volumes == nil {
		return "", fmt.Errorf("volume %d: %w", volID, handler.ErrNotFound)
	}
	for _, v := range s.volumes.List() {
		if v.ID == volID {
			return tusDir(v), nil
		}
	}
	return "", fmt.Errorf("volume %d: %w", volID, handler.ErrNotFound)
}

func tusDir(v seedbox.Volume) string { return filepath.Join(v.StagingDir(), tusDirName) }

func (s tusStore) dirOf(id string) (string, error) {
	tid, err := parseTusID(id)
	if err != nil {
		return "", err
	}
	return s.dir(tid.Volume)
}

func (s tusStore) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	dir, err := s.dirOf(info.ID)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tus folder: %w", err)
	}
	return filestore.New(dir).NewUpload(ctx, info)
}

func (s tusStore) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	dir, err := s.dirOf(id)
	if err != nil {
		return nil, err
	}
	return filestore.New(dir).GetUpload(ctx, id)
}

func (s tusStore) AsTerminatableUpload(up handler.Upload) handler.TerminatableUpload {
	return up.(handler.TerminatableUpload)
}

// NewLock locks an upload across processes (tusd's filelocker) in the tus
// folder of its volume.
func (s tusStore) NewLock(id string) (handler.Lock, error) {
	dir, err := s.dirOf(id)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tus folder: %w", err)
	}
	return filelocker.New(dir).NewLock(id)
}

func (s tusStore) composer() *handler.StoreComposer {
	c := handler.NewStoreComposer()
	c.UseCore(s)
	c.UseTerminater(s)
	c.UseLocker(s)
	return c
}

// tusFile is an upload as its .info file describes it, with its data file.
type tusFile struct {
	handler.FileInfo
	binPath  string
	infoPath string
	complete bool
}

// readTusFile loads the .info file at infoPath; complete tells whether all
// of its bytes arrived.
func readTusFile(infoPath string) (tusFile, error) {
	b, err := os.ReadFile(infoPath)
	if err != nil {
		return tusFile{}, err
	}
	var f tusFile
	if err := json.Unmarshal(b, &f.FileInfo); err != nil {
		return tusFile{}, fmt.Errorf("%s: %w", infoPath, err)
	}
	f.infoPath = infoPath
	f.binPath = strings.TrimSuffix(infoPath, ".info")
	if p := f.Storage[filestore.StorageKeyPath]; p != "" {
		f.binPath = p
	}
	fi, err := os.Stat(f.binPath)
	switch {
	case err == nil:
		f.complete = !f.SizeIsDeferred && fi.Size() == f.Size
	case !errors.Is(err, os.ErrNotExist):
		return tusFile{}, err
	}
	return f, nil
}
