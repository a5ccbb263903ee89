package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// UserSummary is one row of the admin's user list.
type UserSummary struct {
	ID                   uint64
	Name                 string
	Email                string
	Role                 Role
	Disabled             bool
	Uploaded, Downloaded int64
	QuotaBytes           *int64 // nil: the default quota applies
	Torrents             int64  // active torrents uploaded
	CreatedAt            time.Time
}

// ListUsers returns people's accounts (not the seedbox system users) whose
// name contains q (any case; "" for all), by name, at most limit.
func (c *Catalog) ListUsers(ctx context.Context, q string, limit int) ([]UserSummary, error) {
	var rows []struct {
		ID                   uint64
		Name                 string
		Email                *string
		Role                 string
		Disabled             bool
		Uploaded, Downloaded int64
		QuotaBytes           *int64
		Torrents             int64
		CreatedAt            time.Time
	}
	err := c.read(ctx).Raw(`SELECT u.id, u.name, u.email, u.role, u.disabled, u.uploaded, u.downloaded, u.quota_bytes, u.created_at,
  (SELECT COUNT(*) FROM torrents t WHERE t.uploader_id = u.id AND t.state = ?) AS torrents
FROM users u WHERE u.seedbox = ? AND lower(u.name) LIKE ? ESCAPE '\'
ORDER BY lower(u.name) LIMIT ?`, string(StateActive), false, "%"+escapeLike(strings.ToLower(q))+"%", max(limit, 1)).Scan(&rows).Error
	if err != nil {
		return nil, dbErr("list users", err)
	}
	out := make([]UserSummary, len(rows))
	for i, r := range rows {
		out[i] = UserSummary{ID: r.ID, Name: r.Name, Role: Role(r.Role), Disabled: r.Disabled, Uploaded: r.Uploaded,
			Downloaded: r.Downloaded, QuotaBytes: r.QuotaBytes, Torrents: r.Torrents, CreatedAt: utc(r.CreatedAt)}
		if r.Email != nil {
			out[i].Email = *r.Email
		}
	}
	return out, nil
}

// ActiveTorrent is a torrent a user transferred recently.
type ActiveTorrent struct {
	Torrent
	Seeding    bool // the user completed it
	LastActive time.Time
}

// UserActiveTorrents lists the torrents the user announced with transfer
// since the given time (the tracker's accounting, flushed every few
// seconds), newest activity first, at most limit. Deleted torrents are left
// out.
func (c *Catalog) UserActiveTorrents(ctx context.Context, userID uint64, since time.Time, limit int) ([]ActiveTorrent, error) {
	op := fmt.Sprintf("active torrents of user %d", userID)
	var acts []struct {
		TorrentID    uint64
		CompletedAt  *time.Time
		LastActiveAt time.Time
	}
	err := c.read(ctx).Raw(`SELECT ut.torrent_id, ut.completed_at, ut.last_active_at FROM user_torrents ut
JOIN torrents t ON t.id = ut.torrent_id
WHERE ut.user_id = ? AND ut.last_active_at > ? AND t.state <> ?
ORDER BY ut.last_active_at DESC LIMIT ?`, userID, since.UTC(), string(StateDeleted), max(limit, 1)).Scan(&acts).Error
	if err != nil || len(acts) == 0 {
		return []ActiveTorrent{}, dbErr(op, err)
	}
	ids := make([]uint64, len(acts))
	for i, a := range acts {
		ids[i] = a.TorrentID
	}
	var rows []torrentRow
	if err := torrentQuery(c.read(ctx), false).Where("torrents.id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, dbErr(op, err)
	}
	byID := make(map[uint64]*torrentRow, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	out := make([]ActiveTorrent, 0, len(acts))
	for _, a := range acts {
		if r, ok := byID[a.TorrentID]; ok {
			out = append(out, ActiveTorrent{Torrent: r.torrent(), Seeding: a.CompletedAt != nil, LastActive: utc(a.LastActiveAt)})
		}
	}
	return out, nil
}

// escapeLike escapes LIKE's wildcards with backslashes.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
