package portal

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

const perPage = 50

type uploadView struct {
	Base
	Categories []string
}

func (a *App) uploadShow(c echo.Context) error {
	return a.renderPage(c, http.StatusOK, "upload", uploadView{Base: a.base(c), Categories: a.opts.Categories})
}
