package catalog

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// ListQuery selects a page of torrents for the portal.
type ListQuery struct {
	// Query: every word must occur in the title or the name (case-insensitive
	// substring match).
	Query    string
	Category string
	// Sort: "new" (default, newest first), "size" (largest first) or "name"
	// (by title, A-Z).
	Sort string
	// Page counts from 1; PerPage defaults to 50 and is capped at 200.
	Page, PerPage int
	// State: "" lists active and purged torrents; otherwise only that state.
	State TorrentState
	// UploaderID, if set, lists only that user's uploads.
	UploaderID uint64
}

// Page size defaults and limits for ListTorrents.
const (
	DefaultPerPage = 50
	MaxPerPage     = 200
	maxQueryWords  = 8
)

var listOrders = map[string]string{
	"":     "torrents.created_at DESC, torrents.id DESC",
	"new":  "torrents.created_at DESC, torrents.id DESC",
	"size": "torrents.size DESC, torrents.id DESC",
	"name": "lower(torrents.title) ASC, torrents.id ASC",
}

// ListTorrents returns one page of matching torrents (without Pieces,
// InfoBytes and Files) and the number of matches over all pages.
func (c *Catalog) ListTorrents(ctx context.Context, q ListQuery) ([]Torrent, int64, error) {
	order, ok := listOrders[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("list torrents: %w", invalid("sort", fmt.Sprintf("%q is not new, size or name", q.Sort)))
	}
	if q.State != "" && !q.State.Valid() {
		return nil, 0, fmt.Errorf("list torrents: %w", invalid("state", fmt.Sprintf("%q is not active, purged or deleted", q.State)))
	}
	page, perPage := max(q.Page, 1), q.PerPage
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	perPage = min(perPage, MaxPerPage)

	var total int64
	if err := listFilter(c.read(ctx).Model(&torrentRow{}), q).Count(&total).Error; err != nil {
		return nil, 0, dbErr("list torrents: count", err)
	}
	var rows []torrentRow
	err := listFilter(torrentQuery(c.read(ctx), false), q).
		Order(order).Limit(perPage).Offset((page - 1) * perPage).Find(&rows).Error
	if err != nil {
		return nil, 0, dbErr("list torrents", err)
	}
	out := make([]Torrent, len(rows))
	for i := range rows {
		out[i] = rows[i].torrent()
	}
	return out, total, nil
}

// listFilter adds q's conditions to a query on torrents.
func listFilter(db *gorm.DB, q ListQuery) *gorm.DB {
	if q.State == "" {
		db = db.Where("torrents.state IN ?", []string{string(StateActive), string(StatePurged)})
	} else {
		db = db.Where("torrents.state = ?", string(q.State))
	}
	if q.Category != "" {
		db = db.Where("torrents.category = ?", q.Category)
	}
	if q.UploaderID != 0 {
		db = db.Where("torrents.uploader_id = ?", q.UploaderID)
	}
	words := strings.Fields(q.Query)
	if len(words) > maxQueryWords {
		words = words[:maxQueryWords]
	}
	for _, w := range words {
		pattern := "%" + escapeLike(strings.ToLower(w)) + "%"
		db = db.Where(`(lower(torrents.title) LIKE ? ESCAPE '\' OR lower(torrents.name) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	return db
}

// escapeLike escapes LIKE's wildcards with backslashes.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
