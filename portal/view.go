package portal

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
)

// Base is what the layout needs on every page.
type Base struct {
	User    *catalog.User
	CSRF    string
	Query   string
	Flash   string
	Version string
	// CanRegister shows the sign-up link (registration is not closed).
	CanRegister bool
}

func (a *App) base(c echo.Context) Base {
	tok, _ := c.Get(middleware.DefaultCSRFConfig.ContextKey).(string)
	return Base{User: currentUser(c), CSRF: tok, Query: c.QueryParam("q"), Version: a.opts.Version,
		CanRegister: a.registrationMode() != regClosed}
}

type errorView struct {
	Base
	Title, Message string
}

// torrentRow is one torrent as pages show it.
type torrentRow struct {
	InfoHash, Title, Category, Description, State, Uploader string
	PurgeReason, Purged                                     string // when state is purged
	Size                                                    string
	Files                                                   []fileRow
	Seeders, Leechers, Completed                            int
	Created, CreatedISO                                     string
}

type fileRow struct{ Path, Size string }

func (a *App) row(t *catalog.Torrent) torrentRow {
	sc := a.counts(t.InfoHash)
	r := torrentRow{
		InfoHash: t.InfoHash, Title: t.Title, Category: t.Category, Description: t.Description,
		State: string(t.State), Uploader: t.UploaderName, Size: config.HumanBytes(t.Size), PurgeReason: t.PurgeReason,
		Seeders: sc.Seeders, Leechers: sc.Leechers, Completed: sc.Completed,
		Created: t.CreatedAt.Local().Format("2 Jan 2006 15:04"), CreatedISO: t.CreatedAt.UTC().Format(time.RFC3339),
	}
	if !t.PurgedAt.IsZero() {
		r.Purged = t.PurgedAt.Local().Format("2 Jan 2006 15:04")
	}
	for _, f := range t.Files {
		p := f.Path
		if !t.SingleFile {
			p = t.Name + "/" + f.Path
		}
		r.Files = append(r.Files, fileRow{Path: p, Size: config.HumanBytes(f.Size)})
	}
	return r
}

// swarmCounts are the live numbers of a torrent.
type swarmCounts struct{ Seeders, Leechers, Completed int }

func (a *App) counts(infoHash string) swarmCounts {
	var ih [20]byte
	if a.opts.Swarms == nil || len(infoHash) != 40 {
		return swarmCounts{}
	}
	if _, err := hex.Decode(ih[:], []byte(infoHash)); err != nil {
		return swarmCounts{}
	}
	sc := a.opts.Swarms.Counts(ih)
	return swarmCounts{Seeders: sc.Seeders, Leechers: sc.Leechers, Completed: sc.Completed}
}

// TorrentObject is a torrent in the JSON API (CONTRACT.md).
type TorrentObject struct {
	InfoHash    string          `json:"info_hash"`
	Name        string          `json:"name"`
	Title       string          `json:"title"`
	Category    string          `json:"category"`
	Description string          `json:"description"`
	Size        int64           `json:"size"`
	MD510M      string          `json:"md5_10m"`
	PieceLength int64           `json:"piece_length"`
	Files       []FileObject    `json:"files"`
	PageURL     string          `json:"page_url"`
	TorrentURL  string          `json:"torrent_url"`
	Magnet      string          `json:"magnet"`
	Seeders     int             `json:"seeders"`
	Leechers    int             `json:"leechers"`
	Completed   int             `json:"completed"`
	State       string          `json:"state"`
	PurgeReason string          `json:"purge_reason,omitempty"` // why retention purged its data
	PurgedAt    *time.Time      `json:"purged_at,omitempty"`
	Uploader    string          `json:"uploader"`
	CreatedAt   time.Time       `json:"created_at"`
	Replicas    []ReplicaObject `json:"replicas"`
	Duplicate   bool            `json:"duplicate"`
}

// FileObject is one file of a torrent.
type FileObject struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// ReplicaObject is one stored copy of a torrent.
type ReplicaObject struct {
	Node   string `json:"node"`
	Volume string `json:"volume"`
	State  string `json:"state"`
}

func (a *App) object(ctx context.Context, t *catalog.Torrent, viewer *catalog.User) (TorrentObject, error) {
	reps, err := a.opts.Catalog.ReplicasOf(ctx, t.ID)
	if err != nil {
		return TorrentObject{}, err
	}
	return a.objectWith(t, viewer, reps)
}

// objectWith builds the object from a torrent and its replicas, read before.
func (a *App) objectWith(t *catalog.Torrent, viewer *catalog.User, reps []catalog.Replica) (TorrentObject, error) {
	sc := a.counts(t.InfoHash)
	o := TorrentObject{
		InfoHash: t.InfoHash, Name: t.Name, Title: t.Title, Category: t.Category, Description: t.Description,
		Size: t.Size, MD510M: t.MD510M, PieceLength: t.PieceLength, State: string(t.State),
		Uploader: t.UploaderName, CreatedAt: t.CreatedAt.UTC(),
		PageURL: a.pageURL(t.InfoHash), TorrentURL: a.torrentURL(t.InfoHash),
		Seeders: sc.Seeders, Leechers: sc.Leechers, Completed: sc.Completed,
		Files: []FileObject{}, Replicas: []ReplicaObject{}, PurgeReason: t.PurgeReason,
	}
	if !t.PurgedAt.IsZero() {
		at := t.PurgedAt.UTC()
		o.PurgedAt = &at
	}
	for _, f := range t.Files {
		o.Files = append(o.Files, FileObject{Path: f.Path, Size: f.Size})
	}
	if viewer != nil {
		m, err := a.magnet(t, viewer, reps)
		if err != nil {
			return o, err
		}
		o.Magnet = m
	}
	for _, r := range reps {
		if r.NodeOnline { // only replicas that can serve now (docs/architecture.md)
			o.Replicas = append(o.Replicas, ReplicaObject{Node: r.Node, Volume: r.VolumeName, State: r.State})
		}
	}
	return o, nil
}

func (a *App) pageURL(ih string) string    { return a.opts.PublicURL + "/t/" + ih }
func (a *App) torrentURL(ih string) string { return a.opts.PublicURL + "/torrents/" + ih + ".torrent" }
