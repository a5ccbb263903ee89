package portal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

type torrentView struct {
	Base
	T                           torrentRow
	Files                       []fileRow
	Replicas                    []replicaView
	Duplicate                   bool
	TorrentURL, Magnet, PageURL string
	// CanManage shows the edit and delete forms (uploader, moderators, admins).
	CanManage  bool
	Saved      bool
	Categories []string
}

func (a *App) torrentShow(c echo.Context) error {
	ctx := c.Request().Context()
	t, err := a.findTorrent(ctx, c.Param("ih"))
	if err != nil {
		return err
	}
	v := torrentView{Base: a.base(c), T: a.row(t), Duplicate: c.QueryParam("duplicate") == "1",
		TorrentURL: "/torrents/" + t.InfoHash + ".torrent", PageURL: a.pageURL(t.InfoHash)}
	v.Files = v.T.Files
	v.CanManage, v.Saved = canManage(currentUser(c), t), c.QueryParam("saved") == "1"
	v.Categories = categoryChoices(a.opts.Categories, t.Category)
	reps, err := a.opts.Catalog.ReplicasOf(ctx, t.ID)
	if err != nil {
		return err
	}
	if u := currentUser(c); u != nil {
		if v.Magnet, err = a.magnet(t, u, reps); err != nil {
			return err
		}
	}
	for _, r := range reps {
		v.Replicas = append(v.Replicas, replicaView{Node: r.Node, Volume: r.VolumeName, State: r.State, Offline: !r.NodeOnline})
	}
	return a.renderPage(c, http.StatusOK, "torrent", v)
}

// replicaView is a replica on the torrent's page, which also shows those
// on nodes that are offline (the API leaves them out).
type replicaView struct {
	Node, Volume, State string
	Offline             bool
}

// findTorrent loads a visible torrent by its 40-hex infohash.
func (a *App) findTorrent(ctx context.Context, ih string) (*catalog.Torrent, error) {
	ih = strings.ToLower(ih)
	if !isInfoHash(ih) {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "an info hash is 40 hexadecimal characters")
	}
	t, err := a.opts.Catalog.TorrentByInfoHash(ctx, ih)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, echo.NewHTTPError(http.StatusNotFound, "no torrent with that info hash")
	}
	if err == nil && t.State == catalog.StateDeleted {
		return nil, echo.NewHTTPError(http.StatusGone, "this torrent was deleted")
	}
	return t, err
}

func isInfoHash(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// metaInfo is the .torrent of t personalized for u: the announce URL and the
// web seeds carry u's passkey; the info dict is the same for everyone. reps
// are t's replicas: every online node holding a verified one is a web seed.
func (a *App) metaInfo(t *catalog.Torrent, u *catalog.User, reps []catalog.Replica) *metainfo.MetaInfo {
	announce := a.opts.PublicURL + "/announce/" + u.Passkey
	return &metainfo.MetaInfo{
		InfoBytes:    t.InfoBytes,
		Announce:     announce,
		AnnounceList: [][]string{{announce}},
		UrlList:      a.webSeeds(t, u, reps),
		CreationDate: t.CreatedAt.Unix(),
		Comment:      a.pageURL(t.InfoHash),
		CreatedBy:    "Seedbed",
	}
}

// webSeeds lists the BEP 19 web seed URLs of t for u: this node first, then
// every other online node holding a verified replica, by node name. A node
// offline or holding no verified copy could not serve it, so it is left out.
func (a *App) webSeeds(t *catalog.Torrent, u *catalog.User, reps []catalog.Replica) []string {
	path := "/webseed/" + u.Passkey + "/" + t.InfoHash + "/"
	var local bool
	others := map[string]string{} // node name -> public URL
	for _, r := range reps {
		switch {
		case r.State != catalog.ReplicaVerified || !r.NodeOnline:
		case r.Node == a.opts.Node:
			local = true
		case r.NodePublicURL != "" && r.NodePublicURL != a.opts.PublicURL:
			others[r.Node] = r.NodePublicURL
		}
	}
	out := make([]string, 0, len(others)+1)
	if local {
		out = append(out, a.opts.PublicURL+path)
	}
	for _, node := range slices.Sorted(maps.Keys(others)) {
		out = append(out, others[node]+path)
	}
	return out
}

// magnet is t's magnet link for u: infohash, name, u's announce URL and web
// seeds. It needs no info dict, so list rows (which carry none) get one too.
func (a *App) magnet(t *catalog.Torrent, u *catalog.User, reps []catalog.Replica) (string, error) {
	var ih metainfo.Hash
	if err := ih.FromHexString(t.InfoHash); err != nil {
		return "", fmt.Errorf("torrent %q: %w", t.InfoHash, err)
	}
	mi := a.metaInfo(t, u, reps)
	m := metainfo.Magnet{InfoHash: ih, DisplayName: t.Name, Trackers: []string{mi.Announce},
		Params: url.Values{"ws": mi.UrlList}}
	return m.String(), nil
}

// torrentFile serves GET /torrents/<infohash>.torrent to a signed-in user, a
// Bearer token, or ?token= (for clients that fetch RSS enclosures).
func (a *App) torrentFile(c echo.Context) error {
	ih, ok := strings.CutSuffix(c.Param("file"), ".torrent")
	if !ok {
		return echo.ErrNotFound
	}
	u := currentUser(c)
	if u == nil && c.QueryParam("token") != "" {
		var err error
		if u, err = a.opts.Catalog.UserByToken(c.Request().Context(), c.QueryParam("token")); err != nil {
			return echo.NewHTTPError(http.StatusUnauthorized, "invalid or revoked token")
		}
	}
	if u == nil {
		return requireUser(func(echo.Context) error { return nil })(c)
	}
	t, err := a.findTorrent(c.Request().Context(), ih)
	if err != nil {
		return err
	}
	reps, err := a.opts.Catalog.ReplicasOf(c.Request().Context(), t.ID)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := a.metaInfo(t, u, reps).Write(&buf); err != nil {
		return fmt.Errorf("write .torrent: %w", err)
	}
	name := strings.NewReplacer(`"`, "", "\\", "", "\n", "", "\r", "").Replace(t.Name)
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.torrent"`, name))
	c.Response().Header().Set("Last-Modified", t.UpdatedAt.UTC().Format(time.RFC1123))
	return c.Blob(http.StatusOK, "application/x-bittorrent", buf.Bytes())
}
