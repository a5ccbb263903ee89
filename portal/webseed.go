package portal

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

// webseed serves torrent content over HTTP with Range support for BEP 19
// clients: /webseed/<passkey>/<infohash>/<name>[/<path>]. The passkey must
// belong to an enabled user.
func (a *App) webseed(c echo.Context) error {
	pk, ih := c.Param("passkey"), strings.ToLower(c.Param("ih"))
	if a.opts.Passkeys == nil || !a.opts.Passkeys.Valid(pk) {
		return echo.NewHTTPError(http.StatusForbidden, "unknown or revoked passkey")
	}
	t, err := a.findTorrent(c.Request().Context(), ih)
	if err != nil {
		return err
	}
	if t.State == "purged" {
		return echo.NewHTTPError(http.StatusGone, "this torrent's data was purged from the seedbox")
	}
	// The decoded path after /webseed/<passkey>/<infohash>/.
	rel := strings.TrimPrefix(c.Request().URL.Path, "/webseed/"+pk+"/"+c.Param("ih")+"/")
	if !a.torrentHasPath(t.Name, t.SingleFile, t.Files, rel) {
		return echo.NewHTTPError(http.StatusNotFound, "no such file in this torrent")
	}
	dir, err := a.replicaDir(c, t.ID, ih)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "content is not on this node")
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(c.Response(), c.Request(), "", fi.ModTime(), f)
	return nil
}

// torrentHasPath accepts exactly the URLs BEP 19 clients build: the name of
// a single-file torrent, or name/path of a file of a multi-file torrent.
func (a *App) torrentHasPath(name string, single bool, files []catalog.File, rel string) bool {
	if single {
		return rel == name
	}
	p, ok := strings.CutPrefix(rel, name+"/")
	if !ok {
		return false
	}
	for _, f := range files {
		if f.Path == p {
			return true
		}
	}
	return false
}

// replicaDir finds a verified copy of the torrent on one of this node's
// readable volumes.
func (a *App) replicaDir(c echo.Context, torrentID uint64, ih string) (string, error) {
	reps, err := a.opts.Catalog.ReplicasOf(c.Request().Context(), torrentID)
	if err != nil {
		return "", err
	}
	for _, r := range reps {
		if r.State != "verified" || r.Node != a.opts.Node {
			continue
		}
		v, ok := a.opts.Volumes.ByName(r.VolumeName)
		if !ok || !a.opts.Volumes.Readable(r.VolumeName) {
			continue // not here, or in maintenance: never read
		}
		return v.TorrentDir(ih), nil
	}
	return "", echo.NewHTTPError(http.StatusServiceUnavailable, "no verified copy of this torrent on this node")
}
