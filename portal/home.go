package portal

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

const perPage = 50

type homeView struct {
	Base
	Torrents           []torrentRow
	PrevPage, NextPage int
}

func (a *App) home(c echo.Context) error {
	page, _ := strconv.Atoi(c.QueryParam("page"))
	page = max(page, 1)
	list, total, err := a.opts.Catalog.ListTorrents(c.Request().Context(), catalog.ListQuery{
		Query: c.QueryParam("q"), Category: c.QueryParam("category"), Sort: "new", Page: page, PerPage: perPage,
	})
	if err != nil {
		return err
	}
	v := homeView{Base: a.base(c)}
	for i := range list {
		v.Torrents = append(v.Torrents, a.row(&list[i]))
	}
	if page > 1 {
		v.PrevPage = page - 1
	}
	if int64(page*perPage) < total {
		v.NextPage = page + 1
	}
	return a.renderPage(c, http.StatusOK, "home", v)
}

type uploadView struct {
	Base
	Categories []string
}

func (a *App) uploadShow(c echo.Context) error {
	return a.renderPage(c, http.StatusOK, "upload", uploadView{Base: a.base(c), Categories: a.opts.Categories})
}
