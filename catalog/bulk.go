package catalog

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// bulkBatch is how many rows one INSERT of a bulk load carries: well under
// SQLite's limit of bound variables for the widest table.
const bulkBatch = 500

// lockedPasswordHash is the password hash of accounts made by
// BulkCreateUsers: it is no PHC string, so no password ever matches it.
const lockedPasswordHash = "!locked"

// BulkCreateUsers adds one account per name, each with a random passkey and
// no usable password (nobody can sign in as them until SetPassword), in one
// transaction: either every user is created or none. It is meant for load
// tests and imports, where CreateUser's password hashing per account would
// take minutes. Names are validated as by CreateUser; a taken name gives
// ErrConflict.
func (c *Catalog) BulkCreateUsers(ctx context.Context, names []string, role Role) ([]User, error) {
	if !role.Valid() {
		return nil, fmt.Errorf("bulk create users: %w", invalid("role", fmt.Sprintf("%q is not user, moderator or admin", role)))
	}
	rows := make([]userRow, len(names))
	t := now()
	for i, name := range names {
		if err := validateUserName(name); err != nil {
			return nil, fmt.Errorf("bulk create users: %q: %w", name, err)
		}
		passkey, err := randomHex(16)
		if err != nil {
			return nil, fmt.Errorf("bulk create users: %w", err)
		}
		rows[i] = userRow{Name: name, PasswordHash: lockedPasswordHash, Role: string(role), Passkey: passkey,
			CreatedAt: t, UpdatedAt: t}
	}
	err := c.tx(ctx, func(tx *gorm.DB) error { return tx.CreateInBatches(rows, bulkBatch).Error })
	if err != nil {
		return nil, dbErr(fmt.Sprintf("bulk create %d users", len(names)), err)
	}
	users := make([]User, len(rows))
	for i := range rows {
		users[i] = *rows[i].user()
	}
	return users, nil
}

// BulkCreateTorrents inserts the torrents and their files in one
// transaction, without replicas: the content is held by nobody yet (a load
// test's torrents, or an import whose data arrives later). Each torrent is
// validated as by CreateTorrent, and its ID and times are set. A taken
// infohash gives ErrConflict and then nothing is stored.
func (c *Catalog) BulkCreateTorrents(ctx context.Context, ts []Torrent) error {
	rows := make([]torrentRow, len(ts))
	stamp := now()
	for i := range ts {
		t := &ts[i]
		if err := normalizeTorrent(t); err != nil {
			return fmt.Errorf("bulk create torrents: %s: %w", t.InfoHash, err)
		}
		rows[i] = torrentRow{
			InfoHash: t.InfoHash, Name: t.Name, Title: t.Title, Category: t.Category, Description: t.Description,
			Size: t.Size, MD510M: t.MD510M, PieceLength: t.PieceLength, Pieces: t.Pieces, InfoBytes: t.InfoBytes,
			SingleFile: t.SingleFile, State: string(t.State), UploaderID: t.UploaderID, Pinned: t.Pinned,
			CreatedAt: stamp, UpdatedAt: stamp, SearchPaths: searchPaths(t.Files),
		}
	}
	err := c.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rows, bulkBatch).Error; err != nil {
			return err
		}
		var files []fileRow
		for i := range ts {
			for _, f := range ts[i].Files {
				files = append(files, fileRow{TorrentID: rows[i].ID, Idx: f.Index, Path: f.Path, Size: f.Size})
			}
		}
		return tx.CreateInBatches(files, bulkBatch).Error
	})
	if err != nil {
		return dbErr(fmt.Sprintf("bulk create %d torrents", len(ts)), err)
	}
	for i := range ts {
		ts[i].ID, ts[i].CreatedAt, ts[i].UpdatedAt = rows[i].ID, stamp, stamp
	}
	return nil
}
