package portal

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
)

type userView struct {
	Base
	Name, Role, Joined, Uploaded, Downloaded, Ratio string
	Torrents                                        []torrentRow
}

// userShow is GET /u/<name>: a user's totals and what they shared.
func (a *App) userShow(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := a.opts.Catalog.UserByName(ctx, c.Param("name"))
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && u.Seedbox) {
		return echo.NewHTTPError(http.StatusNotFound, "no user with that name")
	}
	if err != nil {
		return err
	}
	list, _, err := a.opts.Catalog.ListTorrents(ctx, catalog.ListQuery{UploaderID: u.ID, Sort: "new", PerPage: perPage})
	if err != nil {
		return err
	}
	v := userView{Base: a.base(c), Name: u.Name, Role: string(u.Role),
		Joined: u.CreatedAt.Local().Format("2 Jan 2006"), Uploaded: config.HumanBytes(u.Uploaded),
		Downloaded: config.HumanBytes(u.Downloaded), Ratio: ratio(u.Uploaded, u.Downloaded)}
	for i := range list {
		v.Torrents = append(v.Torrents, a.row(&list[i]))
	}
	return a.renderPage(c, http.StatusOK, "user", v)
}

func ratio(up, down int64) string {
	if down == 0 {
		return "∞"
	}
	return fmt.Sprintf("%.2f", float64(up)/float64(down))
}
