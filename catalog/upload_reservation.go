package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Upload reservations: the bytes of uploads in progress on every node. A
// quota (the user's, the user's group's) counts the active torrents
// uploaded plus these, so two nodes receiving uploads of one dormitory at
// the same moment cannot together overshoot its quota. ReserveUpload checks
// and reserves in one transaction holding a row lock on the user and on the
// group (PostgreSQL, SELECT … FOR UPDATE; on SQLite every write transaction
// is IMMEDIATE, which serializes them all).

// UploadReservation is one upload in progress.
type UploadReservation struct {
	UploadID string // the tus upload ID, or an ID of the portal's choosing for a multipart request
	UserID   uint64
	Node     string // the node receiving the bytes
	VolumeID uint64 // 0: not on a volume yet (a multipart request)
	Folder   string // folder key shared by the files of one folder; "" for one file
	Key      string // the ID part a Seedbed-Upload-Key gave; "" for none
	Size     int64
	// Filled on reads.
	CreatedAt time.Time
	UpdatedAt time.Time
}

type uploadReservationRow struct {
	UploadID  string `gorm:"primaryKey"`
	UserID    uint64
	Node      string
	VolumeID  *uint64
	Folder    string
	UploadKey string
	Size      int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (uploadReservationRow) TableName() string { return "upload_reservations" }

func (r *uploadReservationRow) reservation() UploadReservation {
	out := UploadReservation{UploadID: r.UploadID, UserID: r.UserID, Node: r.Node, Folder: r.Folder,
		Key: r.UploadKey, Size: r.Size, CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt)}
	if r.VolumeID != nil {
		out.VolumeID = *r.VolumeID
	}
	return out
}

// ErrOverQuota matches every QuotaError.
var ErrOverQuota = errors.New("over quota")

// QuotaError says which quota an upload does not fit in. It matches
// ErrOverQuota with errors.Is.
type QuotaError struct {
	Group string // the group's name; "" when the user's own quota is the one exceeded
	Limit int64
	Used  int64 // stored and reserved before this upload
	Size  int64 // the refused upload
}

func (e *QuotaError) Error() string {
	whose := "user"
	if e.Group != "" {
		whose = "group " + e.Group
	}
	return fmt.Sprintf("over quota: %d bytes do not fit in the %s quota of %d (%d used)", e.Size, whose, e.Limit, e.Used)
}

// Is makes errors.Is(err, ErrOverQuota) true.
func (e *QuotaError) Is(target error) bool { return target == ErrOverQuota }

// ErrFolderElsewhere matches every FolderElsewhereError.
var ErrFolderElsewhere = errors.New("folder is being uploaded to another volume")

// FolderElsewhereError: other files of the folder are reserved on another
// volume (every file of one folder must land on one volume).
type FolderElsewhereError struct {
	VolumeID uint64
	Node     string
}

func (e *FolderElsewhereError) Error() string {
	return fmt.Sprintf("folder is being uploaded to volume %d of node %q", e.VolumeID, e.Node)
}

// Is makes errors.Is(err, ErrFolderElsewhere) true.
func (e *FolderElsewhereError) Is(target error) bool { return target == ErrFolderElsewhere }

// ReserveUpload checks that r.Size fits in the user's quota (its own, or
// defaultQuota when it has none; 0: no limit) and in the group's, counting
// stored torrents and every reservation, and records r, all in one
// transaction. It returns a *QuotaError when it does not fit, a
// *FolderElsewhereError when r's folder is reserved on another volume, and
// ErrConflict when r's ID or Key is taken.
func (c *Catalog) ReserveUpload(ctx context.Context, r UploadReservation, defaultQuota int64) error {
	op := fmt.Sprintf("reserve upload %s", r.UploadID)
	if r.UploadID == "" || r.Size < 0 {
		return fmt.Errorf("%s: %w", op, invalid("reservation", "needs an upload ID and a size of 0 or more"))
	}
	err := c.tx(ctx, func(tx *gorm.DB) error {
		group, err := c.lockQuotaScope(tx, r.UserID)
		if err != nil {
			return err
		}
		if err := checkFolder(tx, r); err != nil {
			return err
		}
		if err := checkUserQuota(tx, r, defaultQuota); err != nil {
			return err
		}
		if err := checkGroupQuota(tx, group, r.Size); err != nil {
			return err
		}
		t := now()
		row := uploadReservationRow{UploadID: r.UploadID, UserID: r.UserID, Node: r.Node, Folder: r.Folder,
			UploadKey: r.Key, Size: r.Size, CreatedAt: t, UpdatedAt: t}
		if r.VolumeID != 0 {
			row.VolumeID = &r.VolumeID
		}
		return tx.Create(&row).Error
	})
	var qe *QuotaError
	var fe *FolderElsewhereError
	if errors.As(err, &qe) || errors.As(err, &fe) {
		return err
	}
	return dbErr(op, err)
}

// lockQuotaScope locks the user's row and, when the user is in a group, the
// group's row, until tx ends; it returns the group (nil: none). Locks are
// taken user first, then group, by every caller: no deadlock.
func (c *Catalog) lockQuotaScope(tx *gorm.DB, userID uint64) (*groupRow, error) {
	lock := ""
	if c.dialect == DialectPostgres {
		lock = " FOR UPDATE"
	}
	var u struct {
		ID      uint64
		GroupID *uint64
	}
	if err := tx.Raw("SELECT id, group_id FROM users WHERE id = ?"+lock, userID).Scan(&u).Error; err != nil {
		return nil, err
	}
	if u.ID == 0 {
		return nil, fmt.Errorf("user %d: %w", userID, ErrNotFound)
	}
	if u.GroupID == nil {
		return nil, nil
	}
	var g groupRow
	if err := tx.Raw("SELECT * FROM user_groups WHERE id = ?"+lock, *u.GroupID).Scan(&g).Error; err != nil {
		return nil, err
	}
	if g.ID == 0 {
		return nil, nil
	}
	return &g, nil
}

// checkFolder refuses a file of a folder whose other files are reserved on
// another volume.
func checkFolder(tx *gorm.DB, r UploadReservation) error {
	if r.Folder == "" || r.VolumeID == 0 {
		return nil
	}
	var other uploadReservationRow
	err := tx.Where("user_id = ? AND folder = ? AND volume_id IS NOT NULL AND volume_id <> ?", r.UserID, r.Folder, r.VolumeID).
		Limit(1).Find(&other).Error
	if err != nil || other.UploadID == "" {
		return err
	}
	return &FolderElsewhereError{VolumeID: *other.VolumeID, Node: other.Node}
}

func checkUserQuota(tx *gorm.DB, r UploadReservation, defaultQuota int64) error {
	var quota *int64
	if err := tx.Raw("SELECT quota_bytes FROM users WHERE id = ?", r.UserID).Scan(&quota).Error; err != nil {
		return err
	}
	limit := defaultQuota
	if quota != nil {
		limit = *quota
	}
	if limit <= 0 { // 0: no limit, as for the default
		return nil
	}
	var used int64
	err := tx.Raw(`SELECT
	(SELECT COALESCE(SUM(size), 0) FROM torrents WHERE uploader_id = ? AND state = 'active') +
	(SELECT COALESCE(SUM(size), 0) FROM upload_reservations WHERE user_id = ?)`, r.UserID, r.UserID).Scan(&used).Error
	if err != nil {
		return err
	}
	if used+r.Size > limit {
		return &QuotaError{Limit: limit, Used: used, Size: r.Size}
	}
	return nil
}

func checkGroupQuota(tx *gorm.DB, g *groupRow, size int64) error {
	if g == nil || g.QuotaBytes == nil {
		return nil
	}
	var used int64
	err := tx.Raw(`SELECT
	(SELECT COALESCE(SUM(t.size), 0) FROM torrents t JOIN users u ON u.id = t.uploader_id
		WHERE u.group_id = ? AND t.state = 'active') +
	(SELECT COALESCE(SUM(r.size), 0) FROM upload_reservations r JOIN users u ON u.id = r.user_id
		WHERE u.group_id = ?)`, g.ID, g.ID).Scan(&used).Error
	if err != nil {
		return err
	}
	if used+size > *g.QuotaBytes {
		return &QuotaError{Group: g.Name, Limit: *g.QuotaBytes, Used: used, Size: size}
	}
	return nil
}

// ReleaseUploads deletes the reservations of finished, terminated or
// abandoned uploads; unknown IDs are ignored.
func (c *Catalog) ReleaseUploads(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := c.write(ctx).Where("upload_id IN ?", ids).Delete(&uploadReservationRow{}).Error
	return dbErr("release uploads", err)
}

// ReleaseUploadFolder deletes the reservations of every file of a user's
// folder: the folder must start over.
func (c *Catalog) ReleaseUploadFolder(ctx context.Context, userID uint64, folder string) error {
	if folder == "" {
		return nil
	}
	err := c.write(ctx).Where("user_id = ? AND folder = ?", userID, folder).Delete(&uploadReservationRow{}).Error
	return dbErr("release upload folder", err)
}

// TouchUpload records progress of an upload: its reservation expires
// ExpireUploadReservations' age after the last touch.
func (c *Catalog) TouchUpload(ctx context.Context, id string) error {
	err := c.write(ctx).Model(&uploadReservationRow{}).Where("upload_id = ?", id).Update("updated_at", now()).Error
	return dbErr("touch upload "+id, err)
}

// ExpireUploadReservations deletes the reservations whose upload made no
// progress since before, wherever it runs: what a node that died leaves.
func (c *Catalog) ExpireUploadReservations(ctx context.Context, before time.Time) (int64, error) {
	res := c.write(ctx).Where("updated_at < ?", before.UTC()).Delete(&uploadReservationRow{})
	return res.RowsAffected, dbErr("expire upload reservations", res.Error)
}

// UploadReservations lists the reservations of one node, oldest first.
func (c *Catalog) UploadReservations(ctx context.Context, node string) ([]UploadReservation, error) {
	var rows []uploadReservationRow
	if err := c.read(ctx).Where("node = ?", node).Order("created_at, upload_id").Find(&rows).Error; err != nil {
		return nil, dbErr("upload reservations of node "+node, err)
	}
	out := make([]UploadReservation, len(rows))
	for i := range rows {
		out[i] = rows[i].reservation()
	}
	return out, nil
}

// UploadReservationByKey finds a user's upload made with a creation key
// (ErrNotFound: none).
func (c *Catalog) UploadReservationByKey(ctx context.Context, userID uint64, key string) (*UploadReservation, error) {
	return c.findReservation(ctx, "upload_key = ? AND upload_key <> ''", userID, key)
}

// UploadFolderReservation finds a reservation of one file of a user's
// folder on a volume (ErrNotFound: none), which the folder's other files
// must join.
func (c *Catalog) UploadFolderReservation(ctx context.Context, userID uint64, folder string) (*UploadReservation, error) {
	return c.findReservation(ctx, "folder = ? AND folder <> '' AND volume_id IS NOT NULL", userID, folder)
}

func (c *Catalog) findReservation(ctx context.Context, cond string, userID uint64, arg string) (*UploadReservation, error) {
	var rows []uploadReservationRow
	if err := c.read(ctx).Where("user_id = ? AND "+cond, userID, arg).Order("created_at").Limit(1).
		Find(&rows).Error; err != nil {
		return nil, dbErr("find upload reservation", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("upload reservation: %w", ErrNotFound)
	}
	r := rows[0].reservation()
	return &r, nil
}

// VolumeOwner returns the node a volume belongs to, from its heartbeat:
// name, public URL and whether it is online now. A volume of a node that
// never sent a heartbeat has an empty PublicURL and is offline.
func (c *Catalog) VolumeOwner(ctx context.Context, volumeID uint64) (Node, error) {
	var row struct {
		Node      string
		PublicURL *string
		LastSeen  *time.Time
	}
	err := c.read(ctx).Raw(`SELECT v.node AS node, n.public_url AS public_url, n.last_seen AS last_seen
FROM volumes v LEFT JOIN nodes n ON n.name = v.node WHERE v.id = ?`, volumeID).Scan(&row).Error
	if err != nil {
		return Node{}, dbErr(fmt.Sprintf("owner of volume %d", volumeID), err)
	}
	if row.Node == "" && row.LastSeen == nil && row.PublicURL == nil {
		var n int64
		if err := c.read(ctx).Raw("SELECT COUNT(*) FROM volumes WHERE id = ?", volumeID).Scan(&n).Error; err != nil {
			return Node{}, dbErr("volume", err)
		}
		if n == 0 {
			return Node{}, fmt.Errorf("volume %d: %w", volumeID, ErrNotFound)
		}
	}
	out := Node{Name: row.Node}
	if row.PublicURL != nil {
		out.PublicURL = *row.PublicURL
	}
	if row.LastSeen != nil {
		out.LastSeen = utc(*row.LastSeen)
		out.Online = !row.LastSeen.Before(onlineSince())
	}
	return out, nil
}
