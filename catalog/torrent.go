package catalog

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// TorrentState is a torrent's lifecycle state.
type TorrentState string

// Torrent states. A purged torrent's data was removed from the volumes by
// retention, but the tracker still serves its swarm; a deleted torrent is
// hidden and refused by the tracker. Neither row is ever removed.
const (
	StateActive  TorrentState = "active"
	StatePurged  TorrentState = "purged"
	StateDeleted TorrentState = "deleted"
)

// Valid reports whether s is a known state.
func (s TorrentState) Valid() bool { return s == StateActive || s == StatePurged || s == StateDeleted }

// Torrent is an uploaded torrent: its private v1 info dict (InfoBytes) and
// what the portal shows about it.
type Torrent struct {
	ID          uint64
	InfoHash    string // 40 lowercase hex characters, unique
	Name        string // the info dict's name
	Title       string // shown in the portal; defaults to Name
	Category    string
	Description string
	Size        int64
	MD510M      string // MD5 of the first 10 MiB, 32 lowercase hex characters
	PieceLength int64
	Pieces      []byte // concatenated SHA-1 piece hashes
	InfoBytes   []byte // the bencoded info dict
	SingleFile  bool
	State       TorrentState
	Pinned      bool      // exempt from retention
	PurgedAt    time.Time // zero unless purged
	PurgeReason string
	Snatches    int64 // users who completed a download
	UploaderID  uint64
	// UploaderName is filled on reads.
	UploaderName         string
	CreatedAt, UpdatedAt time.Time
	// Files is filled by TorrentByInfoHash and DedupeCandidates only.
	Files []File
}

// File is one file of a torrent. Path is '/'-joined and relative to the
// torrent's directory (without the torrent name) for multi-file torrents; for
// a single-file torrent it is the name.
type File struct {
	Index int
	Path  string
	Size  int64
}

// torrentRow is the torrents table.
type torrentRow struct {
	ID           uint64 `gorm:"primaryKey"`
	InfoHash     string
	Name         string
	Title        string
	Category     string
	Description  string
	Size         int64
	MD510M       string `gorm:"column:md5_10m"`
	PieceLength  int64
	Pieces       []byte
	InfoBytes    []byte
	SingleFile   bool
	State        string
	UploaderID   uint64
	Pinned       bool
	PurgedAt     *time.Time
	PurgeReason  string
	Snatches     int64
	LastActiveAt *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	UploaderName string `gorm:"->"`        // users.name, read through a join
	SearchPaths  string `gorm:"<-:create"` // file paths for full-text search, see searchPaths
}

func (torrentRow) TableName() string { return "torrents" }

// fileRow is the files table.
type fileRow struct {
	TorrentID uint64
	Idx       int
	Path      string
	Size      int64
}

func (fileRow) TableName() string { return "files" }

func (r *torrentRow) torrent() Torrent {
	return Torrent{
		ID: r.ID, InfoHash: r.InfoHash, Name: r.Name, Title: r.Title, Category: r.Category,
		Description: r.Description, Size: r.Size, MD510M: r.MD510M, PieceLength: r.PieceLength,
		Pieces: r.Pieces, InfoBytes: r.InfoBytes, SingleFile: r.SingleFile, State: TorrentState(r.State),
		Pinned: r.Pinned, PurgedAt: utcPtr(r.PurgedAt), PurgeReason: r.PurgeReason, Snatches: r.Snatches,
		UploaderID: r.UploaderID, UploaderName: r.UploaderName,
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt),
	}
}

// torrentListColumns are read by every torrent query; torrentBlobColumns
// only where the caller needs the hashes and info dict.
const (
	torrentListColumns = "torrents.id, torrents.info_hash, torrents.name, torrents.title, torrents.category, " +
		"torrents.description, torrents.size, torrents.md5_10m, torrents.piece_length, torrents.single_file, " +
		"torrents.state, torrents.uploader_id, torrents.pinned, torrents.purged_at, torrents.purge_reason, " +
		"torrents.snatches, torrents.last_active_at, torrents.created_at, torrents.updated_at, " +
		"users.name AS uploader_name"
	torrentBlobColumns = ", torrents.pieces, torrents.info_bytes"
)

// torrentQuery selects torrents joined with their uploader's name.
func torrentQuery(db *gorm.DB, blobs bool) *gorm.DB {
	cols := torrentListColumns
	if blobs {
		cols += torrentBlobColumns
	}
	return db.Model(&torrentRow{}).Select(cols).Joins("JOIN users ON users.id = torrents.uploader_id")
}

// isHex reports whether s is n lowercase hex characters.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// normalizeTorrent validates t and fills defaults (Title, State, file indexes).
func normalizeTorrent(t *Torrent) error {
	t.InfoHash, t.MD510M = strings.ToLower(t.InfoHash), strings.ToLower(t.MD510M)
	if t.Title == "" {
		t.Title = t.Name
	}
	if t.State == "" {
		t.State = StateActive
	}
	if t.Pieces == nil {
		t.Pieces = []byte{} // NOT NULL: an empty torrent has no pieces
	}
	switch {
	case !isHex(t.InfoHash, 40):
		return invalid("infohash", "must be 40 hex characters")
	case !isHex(t.MD510M, 32):
		return invalid("md5_10m", "must be 32 hex characters")
	case t.Name == "":
		return invalid("name", "must not be empty")
	case t.Size < 0 || t.PieceLength <= 0:
		return invalid("size", "size must be >= 0 and piece length > 0")
	case int64(len(t.Pieces)) != (t.Size+t.PieceLength-1)/t.PieceLength*20:
		return invalid("pieces", "must hold one 20-byte SHA-1 per piece")
	case len(t.InfoBytes) == 0:
		return invalid("info", "info dict must not be empty")
	case !t.State.Valid():
		return invalid("state", fmt.Sprintf("%q is not active, purged or deleted", t.State))
	case t.UploaderID == 0:
		return invalid("uploader", "must be set")
	case len(t.Files) == 0 || t.SingleFile && len(t.Files) != 1:
		return invalid("files", "a torrent has one file if single-file, else at least one")
	}
	if err := validateTorrentText(&t.Title, &t.Category, &t.Description); err != nil {
		return err
	}
	var sum int64
	for i := range t.Files {
		f := &t.Files[i]
		if f.Path == "" || f.Size < 0 {
			return invalid("files", fmt.Sprintf("file %d has an empty path or a negative size", i))
		}
		f.Index = i
		sum += f.Size
	}
	if sum != t.Size {
		return invalid("files", fmt.Sprintf("file sizes add up to %d, not the torrent size %d", sum, t.Size))
	}
	return nil
}

// validateTorrentText checks the portal-editable fields; nil pointers are
// skipped.
func validateTorrentText(title, category, description *string) error {
	switch {
	case title != nil && (strings.TrimSpace(*title) == "" || utf8.RuneCountInString(*title) > 255):
		return invalid("title", "must be 1-255 characters")
	case category != nil && utf8.RuneCountInString(*category) > 64:
		return invalid("category", "must be at most 64 characters")
	case description != nil && len(*description) > 64<<10:
		return invalid("description", "must be at most 64 KiB")
	}
	return nil
}

// CreateTorrent inserts the torrent, its files (stored in slice order; Index
// is set to the position) and its first replica in one transaction, and sets
// t.ID, t.CreatedAt and t.UpdatedAt. A taken infohash gives ErrConflict; an
// unknown uploader or volume gives ErrNotFound, and then nothing is stored.
// If replica.VolumeID is 0 the volume is looked up by replica.Node and
// replica.VolumeName.
func (c *Catalog) CreateTorrent(ctx context.Context, t *Torrent, replica Replica) error {
	if err := normalizeTorrent(t); err != nil {
		return fmt.Errorf("create torrent: %w", err)
	}
	if !validReplicaState(replica.State) {
		return fmt.Errorf("create torrent: %w", invalid("replica state", fmt.Sprintf("%q is not verified, copying or corrupt", replica.State)))
	}
	ts := now()
	row := torrentRow{
		InfoHash: t.InfoHash, Name: t.Name, Title: t.Title, Category: t.Category, Description: t.Description,
		Size: t.Size, MD510M: t.MD510M, PieceLength: t.PieceLength, Pieces: t.Pieces, InfoBytes: t.InfoBytes,
		SingleFile: t.SingleFile, State: string(t.State), UploaderID: t.UploaderID, Pinned: t.Pinned,
		CreatedAt: ts, UpdatedAt: ts, SearchPaths: searchPaths(t.Files),
	}
	err := c.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		files := make([]fileRow, len(t.Files))
		for i, f := range t.Files {
			files[i] = fileRow{TorrentID: row.ID, Idx: f.Index, Path: f.Path, Size: f.Size}
		}
		if err := tx.CreateInBatches(files, 500).Error; err != nil {
			return err
		}
		if replica.VolumeID == 0 {
			var v volumeRow
			if err := tx.Where("node = ? AND name = ?", replica.Node, replica.VolumeName).Take(&v).Error; err != nil {
				return err
			}
			replica.VolumeID = v.ID
		}
		return tx.Create(&replicaRow{TorrentID: row.ID, VolumeID: replica.VolumeID, Node: replica.Node,
			State: replica.State, UpdatedAt: ts}).Error
	})
	if err != nil {
		return dbErr(fmt.Sprintf("create torrent %s", t.InfoHash), err)
	}
	t.ID, t.CreatedAt, t.UpdatedAt = row.ID, ts, ts
	return nil
}

// TorrentByInfoHash returns the torrent with its files and uploader name, in
// any state, or ErrNotFound.
func (c *Catalog) TorrentByInfoHash(ctx context.Context, ih string) (*Torrent, error) {
	op := fmt.Sprintf("torrent %s", ih)
	var row torrentRow
	if err := torrentQuery(c.read(ctx), true).Where("torrents.info_hash = ?", strings.ToLower(ih)).Take(&row).Error; err != nil {
		return nil, dbErr(op, err)
	}
	t := row.torrent()
	files, err := c.filesOf(ctx, []uint64{t.ID})
	if err != nil {
		return nil, dbErr(op, err)
	}
	t.Files = files[t.ID]
	return &t, nil
}

// DedupeCandidates returns the torrents that are not deleted and have the
// given size and MD5 of the first 10 MiB, with Pieces, InfoBytes and Files,
// so the caller can confirm a duplicate by its piece hashes and file sizes.
func (c *Catalog) DedupeCandidates(ctx context.Context, size int64, md5 string) ([]Torrent, error) {
	op := "dedupe candidates"
	var rows []torrentRow
	err := torrentQuery(c.read(ctx), true).
		Where("torrents.size = ? AND torrents.md5_10m = ? AND torrents.state <> ?", size, strings.ToLower(md5), StateDeleted).
		Order("torrents.id").Find(&rows).Error
	if err != nil {
		return nil, dbErr(op, err)
	}
	ids := make([]uint64, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	files, err := c.filesOf(ctx, ids)
	if err != nil {
		return nil, dbErr(op, err)
	}
	out := make([]Torrent, len(rows))
	for i := range rows {
		out[i] = rows[i].torrent()
		out[i].Files = files[rows[i].ID]
	}
	return out, nil
}

// filesOf returns the files of the given torrents in index order.
func (c *Catalog) filesOf(ctx context.Context, ids []uint64) (map[uint64][]File, error) {
	out := make(map[uint64][]File, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []fileRow
	if err := c.read(ctx).Select("torrent_id, idx, path, size").Where("torrent_id IN ?", ids).Order("torrent_id, idx").Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.TorrentID] = append(out[r.TorrentID], File{Index: r.Idx, Path: r.Path, Size: r.Size})
	}
	return out, nil
}

// UpdateTorrent changes the portal-editable fields; nil leaves a field as is.
func (c *Catalog) UpdateTorrent(ctx context.Context, ih string, title, category, description *string) error {
	if err := validateTorrentText(title, category, description); err != nil {
		return fmt.Errorf("update torrent %s: %w", ih, err)
	}
	cols := map[string]any{}
	if title != nil {
		cols["title"] = strings.TrimSpace(*title)
	}
	if category != nil {
		cols["category"] = *category
	}
	if description != nil {
		cols["description"] = *description
	}
	return c.updateTorrent(ctx, fmt.Sprintf("update torrent %s", ih), ih, cols)
}

// SetTorrentState changes the state. Purging sets PurgedAt; making a torrent
// active again (re-upload of purged content) clears PurgedAt and PurgeReason.
// Rows are never removed.
func (c *Catalog) SetTorrentState(ctx context.Context, ih string, s TorrentState) error {
	op := fmt.Sprintf("set state of torrent %s", ih)
	if !s.Valid() {
		return fmt.Errorf("%s: %w", op, invalid("state", fmt.Sprintf("%q is not active, purged or deleted", s)))
	}
	cols := map[string]any{"state": string(s)}
	switch s {
	case StatePurged:
		cols["purged_at"] = now()
	case StateActive:
		cols["purged_at"], cols["purge_reason"] = nil, ""
	}
	return c.updateTorrent(ctx, op, ih, cols)
}

// PurgeTorrent marks a torrent purged by retention, with the reason shown to
// users.
func (c *Catalog) PurgeTorrent(ctx context.Context, ih, reason string) error {
	return c.updateTorrent(ctx, fmt.Sprintf("purge torrent %s", ih), ih,
		map[string]any{"state": string(StatePurged), "purged_at": now(), "purge_reason": reason})
}

// SetPinned pins a torrent (exempt from retention) or unpins it.
func (c *Catalog) SetPinned(ctx context.Context, ih string, pinned bool) error {
	return c.updateTorrent(ctx, fmt.Sprintf("set pinned of torrent %s", ih), ih, map[string]any{"pinned": pinned})
}

// updateTorrent sets columns and updated_at; ErrNotFound if no such torrent.
func (c *Catalog) updateTorrent(ctx context.Context, op, ih string, cols map[string]any) error {
	cols["updated_at"] = now()
	res := c.write(ctx).Model(&torrentRow{}).Where("info_hash = ?", strings.ToLower(ih)).Updates(cols)
	if res.Error != nil {
		return dbErr(op, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}
