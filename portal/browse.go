package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

// listParams reads q, category, sort and page from the query string. An
// unknown sort is an error for the API; pages fall back to newest first.
func listParams(c echo.Context, strict bool) (catalog.ListQuery, error) {
	q := catalog.ListQuery{
		Query:    strings.TrimSpace(c.QueryParam("q")),
		Category: strings.TrimSpace(c.QueryParam("category")),
		Sort:     c.QueryParam("sort"),
		PerPage:  perPage,
	}
	if q.Sort != "" && !slices.Contains(catalog.SortOrders, q.Sort) {
		if strict {
			return q, echo.NewHTTPError(http.StatusBadRequest, "sort must be one of "+strings.Join(catalog.SortOrders, ", "))
		}
		q.Sort = ""
	}
	if p := c.QueryParam("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			if strict {
				return q, echo.NewHTTPError(http.StatusBadRequest, "page must be a number from 1")
			}
			n = 1
		}
		q.Page = min(n, catalog.MaxPage)
	}
	q.Page = max(q.Page, 1)
	return q, nil
}

// sortChoice is one entry of the sort menu.
type sortChoice struct {
	Value, Label string
	Selected     bool
}

var sortLabels = map[string]string{"new": "Newest", "seeders": "Most seeders", "size": "Largest",
	"completed": "Most downloaded", "name": "Name"}

type homeView struct {
	Base
	Torrents         []torrentRow
	Category         string
	Categories       []string
	Sorts            []sortChoice
	Total            int64
	Page, Pages      int
	PrevURL, NextURL string
	Filtered         bool
	MoreThan         bool // Total is a lower bound: catalog.CountCap
}

// home is GET /: browse and search the shared files.
func (a *App) home(c echo.Context) error {
	q, _ := listParams(c, false)
	list, total, err := a.opts.Catalog.ListTorrents(c.Request().Context(), q)
	if err != nil {
		return err
	}
	v := homeView{Base: a.base(c), Category: q.Category, Categories: categoryChoices(a.opts.Categories, q.Category),
		Total: total, Page: q.Page, Filtered: q.Query != "" || q.Category != ""}
	if c.QueryParam("deleted") == "1" {
		v.Flash = "The torrent was deleted."
	}
	sort := q.Sort
	if sort == "" {
		sort = "new"
	}
	for _, s := range catalog.SortOrders {
		v.Sorts = append(v.Sorts, sortChoice{Value: s, Label: sortLabels[s], Selected: s == sort})
	}
	for i := range list {
		v.Torrents = append(v.Torrents, a.row(&list[i]))
	}
	v.Pages = int(min((total+perPage-1)/perPage, catalog.MaxPage))
	if q.Page > 1 {
		v.PrevURL = pageURL(q, q.Page-1)
	}
	if int64(q.Page*perPage) < total || (total > catalog.CountCap && len(list) == perPage && q.Page < catalog.MaxPage) {
		v.NextURL = pageURL(q, q.Page+1)
	}
	if v.MoreThan = total > catalog.CountCap; v.MoreThan {
		v.Total = catalog.CountCap
	}
	return a.renderPage(c, http.StatusOK, "home", v)
}

// pageURL is the home page link to another page of the same list.
func pageURL(q catalog.ListQuery, page int) string {
	v := url.Values{}
	if q.Query != "" {
		v.Set("q", q.Query)
	}
	if q.Category != "" {
		v.Set("category", q.Category)
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	v.Set("page", strconv.Itoa(page))
	return "/?" + v.Encode()
}
