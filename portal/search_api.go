package portal

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

type listReply struct {
	Torrents []TorrentObject `json:"torrents"`
	Total    int64           `json:"total"`
	Page     int             `json:"page"`
	PerPage  int             `json:"per_page"`
}

// apiTorrentList is GET /api/v1/torrents?q=&category=&sort=&page=: search
// and list, 50 torrents a page, with files and replicas read in two queries
// for the whole page.
func (a *App) apiTorrentList(c echo.Context) error {
	ctx := c.Request().Context()
	q, err := listParams(c, true)
	if err != nil {
		return err
	}
	list, total, err := a.opts.Catalog.ListTorrents(ctx, q)
	if err != nil {
		return err
	}
	ids := make([]uint64, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	files, reps, err := a.opts.Catalog.TorrentDetails(ctx, ids)
	if err != nil {
		return err
	}
	out := listReply{Torrents: make([]TorrentObject, 0, len(list)), Total: total, Page: q.Page, PerPage: perPage}
	for i := range list {
		list[i].Files = files[list[i].ID]
		obj, err := a.objectWith(&list[i], currentUser(c), reps[list[i].ID])
		if err != nil {
			return err
		}
		out.Torrents = append(out.Torrents, obj)
	}
	return c.JSON(http.StatusOK, out)
}
