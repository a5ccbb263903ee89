package catalog

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// ListQuery selects a page of torrents for the portal.
type ListQuery struct {
	// Query: full-text search; every word must occur in the title, name,
	// description or a file path (see search.go). Deleted torrents are not
	// searched.
	Query    string
	Category string
	// Sort: "new" (default, newest first: by id, which follows creation), "seeders" (most first, from the
	// counts the node copies from the tracker, see SetSwarmCounts), "size"
	// (largest first), "completed" (most snatched first) or "name" (by
	// title, A-Z).
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
	// MaxPage bounds OFFSET, so a crawler cannot make the database skip
	// millions of rows; search narrows what deep pages would show.
	MaxPage = 1000
)

// SortOrders are the values of ListQuery.Sort, in the order pages offer them.
var SortOrders = []string{"new", "seeders", "size", "completed", "name"}

var listOrders = map[string]string{
	"":          "torrents.id DESC",
	"new":       "torrents.id DESC",
	"seeders":   "torrents.seeders DESC, torrents.id DESC",
	"size":      "torrents.size DESC, torrents.id DESC",
	"completed": "torrents.snatches DESC, torrents.id DESC",
	"name":      "lower(torrents.title) ASC, torrents.id ASC",
}

// CountCap bounds the counting of matches: a list reports at most
// CountCap+1, meaning "more than CountCap", so a search for a word every
// torrent has costs no full count.
const CountCap = 1000

// ListTorrents returns one page of matching torrents (without Pieces,
// InfoBytes and Files) and the number of matches over all pages, at most
// CountCap+1 (see CountCap).
func (c *Catalog) ListTorrents(ctx context.Context, q ListQuery) ([]Torrent, int64, error) {
	order, ok := listOrders[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("list torrents: %w", invalid("sort", fmt.Sprintf("%q is not new, seeders, size, completed or name", q.Sort)))
	}
	if q.State != "" && !q.State.Valid() {
		return nil, 0, fmt.Errorf("list torrents: %w", invalid("state", fmt.Sprintf("%q is not active, purged or deleted", q.State)))
	}
	page, perPage := min(max(q.Page, 1), MaxPage), q.PerPage
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	perPage = min(perPage, MaxPerPage)

	words := searchWords(q.Query)
	if len(words) == 0 && strings.TrimSpace(q.Query) != "" {
		return []Torrent{}, 0, nil // only punctuation: nothing to look for
	}
	total, counted, err := c.countSearchOnly(c.read(ctx), q, words)
	if !counted && err == nil {
		matches := c.listFilter(c.read(ctx).Model(&torrentRow{}).Select("torrents.id"), q, words, false)
		err = c.read(ctx).Table("(?) AS matches", matches.Limit(CountCap+1)).Count(&total).Error
	}
	if err != nil {
		return nil, 0, dbErr("list torrents: count", err)
	}
	if total <= int64((page-1)*perPage) {
		return []Torrent{}, total, nil
	}
	newest := q.Sort == "" || q.Sort == "new"
	if len(words) > 0 && c.dialect == DialectSQLite && newest {
		order = "torrent_text.rowid DESC" // the same order, read from the index
	}
	var rows []torrentRow
	err = c.listFilter(torrentQuery(c.read(ctx), false), q, words, newest).
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
func (c *Catalog) listFilter(db *gorm.DB, q ListQuery, words []string, byRowid bool) *gorm.DB {
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
	return c.searchFilter(db, words, byRowid)
}

// TorrentDetails returns the files and replicas of the given torrents (a
// list page's rows) in two queries instead of two per torrent.
func (c *Catalog) TorrentDetails(ctx context.Context, ids []uint64) (map[uint64][]File, map[uint64][]Replica, error) {
	files, err := c.filesOf(ctx, ids)
	if err != nil {
		return nil, nil, dbErr("torrent details: files", err)
	}
	reps := make(map[uint64][]Replica, len(ids))
	if len(ids) == 0 {
		return files, reps, nil
	}
	var rows []replicaRow
	err = c.replicaQuery(ctx).
		Where("replicas.torrent_id IN ?", ids).Order("replicas.torrent_id, replicas.volume_id").Find(&rows).Error
	if err != nil {
		return nil, nil, dbErr("torrent details: replicas", err)
	}
	for i := range rows {
		reps[rows[i].TorrentID] = append(reps[rows[i].TorrentID], rows[i].replica())
	}
	return files, reps, nil
}
