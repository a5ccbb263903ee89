// Package publish turns uploaded bytes into a registered torrent: it stages
// and hashes them on a volume (ingest), dedupes against the catalog, moves
// the content into place and commits the torrent in one transaction. A crash
// at any point leaves either nothing or a complete torrent: staged and moved
// data without a catalog row is swept on the next start.
package publish

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/ingest"
	"github.com/seedbed/seedbed/seedbox"
)

// Meta is what the uploader says about an upload.
type Meta struct {
	Name        string // torrent name; empty: derived from the files
	Title       string
	Category    string
	Description string
	UploaderID  uint64
}

// Outcome is a published torrent, or the existing one for a duplicate.
type Outcome struct {
	Torrent   *catalog.Torrent
	Duplicate bool
	// Revived: the content of a purged torrent was uploaded again; that
	// torrent is active again, with this upload as its data.
	Revived bool
}

// Publisher runs the upload pipeline of one node.
type Publisher struct {
	Catalog *catalog.Catalog
	Volumes *seedbox.Volumes
	Node    string
	// Published is called after a new torrent is committed, to allow it on
	// the tracker and start seeding it. It may be nil.
	Published func(t *catalog.Torrent, v seedbox.Volume)
	Logger    *slog.Logger

	locks [64]sync.Mutex // commit locks striped by the dedupe key
}

// Staged is an upload in progress on one volume.
type Staged struct {
	*ingest.Upload
	Volume seedbox.Volume
}

// Begin picks a volume for an upload of about expected bytes (-1: unknown)
// and opens a staging folder on it.
func (p *Publisher) Begin(expected int64) (*Staged, error) {
	v, err := p.Volumes.Place(expected)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(v.StagingDir(), stagePrefix+randomID())
	up, err := ingest.NewUpload(dir, expected)
	if err != nil {
		return nil, fmt.Errorf("stage upload on %s: %w", v.Name, err)
	}
	return &Staged{Upload: up, Volume: v}, nil
}

// stagePrefix marks staging folders of uploads that cannot be resumed; they
// are swept at start.
const stagePrefix = "up-"

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Commit finishes a staged upload: dedupe, move into place, register. On any
// error the staged data is removed.
func (p *Publisher) Commit(ctx context.Context, st *Staged, meta Meta) (Outcome, error) {
	res, err := st.Finish(meta.Name)
	if err != nil {
		st.Abort()
		return Outcome{}, err
	}
	mu := p.lockFor(res.Size, res.MD510M)
	mu.Lock()
	defer mu.Unlock()
	dup, err := p.findDuplicate(ctx, res)
	if err == nil && dup != nil && dup.State == catalog.StatePurged {
		return p.revive(ctx, st, res, dup)
	}
	if err != nil || dup != nil {
		st.Abort()
		return Outcome{Torrent: dup, Duplicate: dup != nil}, err
	}
	t := newTorrent(res, meta)
	if err := p.place(ctx, st, t); err != nil {
		if errors.Is(err, catalog.ErrConflict) {
			existing, gerr := p.Catalog.TorrentByInfoHash(ctx, t.InfoHash)
			return Outcome{Torrent: existing, Duplicate: gerr == nil}, gerr
		}
		return Outcome{}, err
	}
	if p.Published != nil {
		p.Published(t, st.Volume)
	}
	return Outcome{Torrent: t}, nil
}

func (p *Publisher) lockFor(size int64, md5 string) *sync.Mutex {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%s", size, md5)
	return &p.locks[h.Sum32()%uint32(len(p.locks))]
}

// findDuplicate returns the stored torrent with the same content, if any: a
// candidate shares size and md5_10m; it is a duplicate only if its pieces and
// file sizes match too.
func (p *Publisher) findDuplicate(ctx context.Context, res *ingest.Result) (*catalog.Torrent, error) {
	cands, err := p.Catalog.DedupeCandidates(ctx, res.Size, res.MD510M)
	if err != nil {
		return nil, fmt.Errorf("dedupe: %w", err)
	}
	for i := range cands {
		c := &cands[i]
		if c.PieceLength == res.PieceLength && bytes.Equal(c.Pieces, res.Pieces) && sameSizes(c.Files, res.Files) {
			return p.Catalog.TorrentByInfoHash(ctx, c.InfoHash)
		}
	}
	return nil, nil
}

func sameSizes(a []catalog.File, b []ingest.File) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Size != b[i].Length {
			return false
		}
	}
	return true
}

// place moves the staged content to its final folder and commits the torrent
// with its replica. The moved folder is ours until the commit succeeds: any
// failure, a lost race with another node included, removes it again.
func (p *Publisher) place(ctx context.Context, st *Staged, t *catalog.Torrent) error {
	final := st.Volume.TorrentDir(t.InfoHash)
	if err := p.moveIntoPlace(ctx, st, final, t.InfoHash); err != nil {
		st.Abort()
		return err
	}
	rep := catalog.Replica{VolumeID: st.Volume.ID, VolumeName: st.Volume.Name, Node: p.Node, State: "verified"}
	if err := p.Catalog.CreateTorrent(ctx, t, rep); err != nil {
		os.RemoveAll(final)
		return fmt.Errorf("register torrent: %w", err)
	}
	return nil
}

// moveIntoPlace renames the staging folder to final. Only when final already
// exists does it ask the catalog: a folder without a row is a crash leftover
// and is replaced; one with a row belongs to a registered torrent.
func (p *Publisher) moveIntoPlace(ctx context.Context, st *Staged, final, infoHash string) error {
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return fmt.Errorf("prepare %s: %w", final, err)
	}
	err := os.Rename(st.Dir(), final)
	if err == nil {
		return nil
	}
	if _, serr := os.Stat(final); serr != nil {
		return fmt.Errorf("move upload into place: %w", err)
	}
	if _, gerr := p.Catalog.TorrentByInfoHash(ctx, infoHash); !errors.Is(gerr, catalog.ErrNotFound) {
		return fmt.Errorf("store %s: %w", infoHash, catalog.ErrConflict)
	}
	p.Logger.Warn("replacing content left by an interrupted upload", "dir", final)
	if err := os.RemoveAll(final); err != nil {
		return fmt.Errorf("remove leftover %s: %w", final, err)
	}
	if err := os.Rename(st.Dir(), final); err != nil {
		return fmt.Errorf("move upload into place: %w", err)
	}
	return nil
}

func newTorrent(res *ingest.Result, meta Meta) *catalog.Torrent {
	t := &catalog.Torrent{
		InfoHash:    res.InfoHash.HexString(),
		Name:        res.Name,
		Title:       strings.TrimSpace(meta.Title),
		Category:    strings.TrimSpace(meta.Category),
		Description: meta.Description,
		Size:        res.Size,
		MD510M:      res.MD510M,
		PieceLength: res.PieceLength,
		Pieces:      res.Pieces,
		InfoBytes:   res.InfoBytes,
		SingleFile:  res.SingleFile,
		State:       catalog.TorrentState("active"),
		UploaderID:  meta.UploaderID,
	}
	if t.Title == "" {
		t.Title = res.Name
	}
	for i, f := range res.Files {
		t.Files = append(t.Files, catalog.File{Index: i, Path: strings.Join(f.Path, "/"), Size: f.Length})
	}
	return t
}
