package portal

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

// canManage tells whether u may edit or delete t: its uploader, moderators
// and admins.
func canManage(u *catalog.User, t *catalog.Torrent) bool {
	if u == nil || t == nil {
		return false
	}
	return u.ID == t.UploaderID || u.Role == catalog.RoleModerator || u.Role == catalog.RoleAdmin
}

// torrentPatch is the body of PATCH /api/v1/torrents/{ih}; an absent field
// stays as it is.
type torrentPatch struct {
	Title       *string `json:"title"`
	Category    *string `json:"category"`
	Description *string `json:"description"`
}

// manageable loads the torrent named in the path and checks that the
// current user may change it (403 otherwise).
func (a *App) manageable(c echo.Context) (*catalog.Torrent, error) {
	t, err := a.findTorrent(c.Request().Context(), c.Param("ih"))
	if err != nil {
		return nil, err
	}
	if !canManage(currentUser(c), t) {
		return nil, echo.NewHTTPError(http.StatusForbidden, "only the uploader, moderators and admins can change this torrent")
	}
	return t, nil
}

// editTorrent applies p to t and maps validation errors to 400.
func (a *App) editTorrent(c echo.Context, t *catalog.Torrent, p torrentPatch) error {
	if p.Title != nil {
		s := strings.TrimSpace(*p.Title)
		p.Title = &s
	}
	if p.Category != nil {
		s := strings.TrimSpace(*p.Category)
		p.Category = &s
	}
	err := a.opts.Catalog.UpdateTorrent(c.Request().Context(), t.InfoHash, p.Title, p.Category, p.Description)
	if errors.Is(err, catalog.ErrInvalid) {
		var ve *catalog.ValidationError
		if errors.As(err, &ve) {
			return echo.NewHTTPError(http.StatusBadRequest, ve.Error())
		}
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return err
}

// apiTorrentPatch is PATCH /api/v1/torrents/{ih}: a JSON object with any of
// title, category, description.
func (a *App) apiTorrentPatch(c echo.Context) error {
	t, err := a.manageable(c)
	if err != nil {
		return err
	}
	var p torrentPatch
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 2*maxFieldBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "send a JSON object with title, category and/or description: "+err.Error())
	}
	if err := a.editTorrent(c, t, p); err != nil {
		return err
	}
	return a.apiTorrentGet(c)
}

// torrentEditSubmit is POST /t/{ih}/edit, the form on the torrent page.
func (a *App) torrentEditSubmit(c echo.Context) error {
	t, err := a.manageable(c)
	if err != nil {
		return err
	}
	title, category, desc := c.FormValue("title"), c.FormValue("category"), c.FormValue("description")
	desc = strings.ReplaceAll(desc, "\r\n", "\n")
	if err := a.editTorrent(c, t, torrentPatch{Title: &title, Category: &category, Description: &desc}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/t/"+t.InfoHash+"?saved=1")
}

// categoryChoices is the configured categories plus current, if it is not
// one of them (set through the API), so the edit form keeps it.
func categoryChoices(configured []string, current string) []string {
	for _, c := range configured {
		if c == current {
			return configured
		}
	}
	if current == "" {
		return configured
	}
	return append([]string{current}, configured...)
}
