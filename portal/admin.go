package portal

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/seedbox"
)

// requireAdmin lets only admins through (after requireUser).
func requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := currentUser(c); u == nil || u.Role != catalog.RoleAdmin {
			return echo.NewHTTPError(http.StatusForbidden, "administrators only")
		}
		return next(c)
	}
}

type adminUserRow struct {
	ID                          uint64
	Name, Email, Role           string
	Disabled                    bool
	Uploaded, Downloaded, Ratio string
	Quota                       string // "" : the default
	Torrents                    int64
}

type adminVolumeRow struct {
	Name, Node, State, Path string
	Torrents                int64
	Used, Free              string
	UsedPercent             int
	Local                   bool
	Offline                 bool // its node sends no heartbeat
}

type adminView struct {
	Base
	UserQuery    string
	Users        []adminUserRow
	Roles        []string
	DefaultQuota string
	Torrents     []torrentRow
	Volumes      []adminVolumeRow
	Tracker      trackerStats
}

// adminShow is GET /admin: users, recent torrents, volumes and the tracker.
func (a *App) adminShow(c echo.Context) error {
	ctx := c.Request().Context()
	v := adminView{Base: a.base(c), UserQuery: strings.TrimSpace(c.QueryParam("user")),
		Roles: []string{string(catalog.RoleUser), string(catalog.RoleModerator), string(catalog.RoleAdmin)}}
	if a.opts.DefaultQuota > 0 {
		v.DefaultQuota = config.HumanBytes(a.opts.DefaultQuota)
	}
	users, err := a.opts.Catalog.ListUsers(ctx, v.UserQuery, 200)
	if err != nil {
		return err
	}
	for _, u := range users {
		r := adminUserRow{ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role), Disabled: u.Disabled,
			Uploaded: config.HumanBytes(u.Uploaded), Downloaded: config.HumanBytes(u.Downloaded),
			Ratio: ratio(u.Uploaded, u.Downloaded), Torrents: u.Torrents}
		if u.QuotaBytes != nil {
			r.Quota = config.HumanBytes(*u.QuotaBytes)
		}
		v.Users = append(v.Users, r)
	}
	list, _, err := a.opts.Catalog.ListTorrents(ctx, catalog.ListQuery{Sort: "new", PerPage: 20})
	if err != nil {
		return err
	}
	for i := range list {
		v.Torrents = append(v.Torrents, a.row(&list[i]))
	}
	if v.Volumes, err = a.adminVolumes(c); err != nil {
		return err
	}
	if cur, hist, ok := a.metrics.take(a.opts.Metrics); ok {
		v.Tracker = trackerStatsFrom(cur, hist)
	}
	return a.renderPage(c, http.StatusOK, "admin", v)
}

// adminVolumes lists every node's volumes by node and name; free space is
// known for this node's.
func (a *App) adminVolumes(c echo.Context) ([]adminVolumeRow, error) {
	vols, err := a.opts.Catalog.VolumeInfos(c.Request().Context(), "")
	if err != nil {
		return nil, err
	}
	online, err := a.opts.Catalog.OnlineNodes(c.Request().Context())
	if err != nil {
		return nil, err
	}
	var out []adminVolumeRow
	for _, vol := range vols {
		r := adminVolumeRow{Name: vol.Name, Node: vol.Node, State: vol.State, Path: vol.Path,
			Torrents: vol.Torrents, Used: config.HumanBytes(vol.Bytes), Offline: !online[vol.Node] && vol.Node != a.opts.Node}
		if vol.Node == a.opts.Node {
			if free, err := seedbox.FreeBytes(vol.Path); err == nil {
				r.Local, r.Free = true, config.HumanBytes(free)
				if total := free + vol.Bytes; total > 0 {
					r.UsedPercent = int(vol.Bytes * 100 / total)
				}
			}
		}
		out = append(out, r)
	}
	return out, nil
}
