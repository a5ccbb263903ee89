package portal

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

// deleteTorrent marks t deleted. The tracker's change feed drops it from the
// allow-list (within a second on every node), lists and pages stop showing
// it, and each node holding a replica stops seeding it and removes its data
// (node.reapDeleted): the state is written first, the files go after, so a
// crash in between is finished by the next pass.
func (a *App) deleteTorrent(c echo.Context, t *catalog.Torrent) error {
	if err := a.opts.Catalog.SetTorrentState(c.Request().Context(), t.InfoHash, catalog.StateDeleted); err != nil {
		return err
	}
	a.log.Info("torrent deleted", "info_hash", t.InfoHash, "by", currentUser(c).Name)
	if a.opts.Deleted != nil {
		a.opts.Deleted(t.InfoHash)
	}
	return nil
}

// apiTorrentDelete is DELETE /api/v1/torrents/{ih}: 204 on success.
func (a *App) apiTorrentDelete(c echo.Context) error {
	t, err := a.manageable(c)
	if err != nil {
		return err
	}
	if err := a.deleteTorrent(c, t); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// torrentDeleteSubmit is POST /t/{ih}/delete, the button on the torrent page.
func (a *App) torrentDeleteSubmit(c echo.Context) error {
	t, err := a.manageable(c)
	if err != nil {
		return err
	}
	if err := a.deleteTorrent(c, t); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/?deleted=1")
}
