package portal

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
)

// activeWindow is how recent a transfer must be to count as "now" on the
// user page: a few announce intervals of a busy client.
const activeWindow = time.Hour

type activeRow struct {
	torrentRow
	Seeding    bool
	LastActive string
}

type userView struct {
	Base
	Name, Role, Joined, Uploaded, Downloaded, Ratio string
	Torrents                                        []torrentRow
	Seeding, Leeching                               []activeRow
	// Quota: shown to the user and to admins only.
	ShowQuota             bool
	QuotaUsed, QuotaLimit string
	QuotaPercent          int
	GroupName             string
	GroupUsed, GroupLimit string
	GroupPercent          int
}

// userShow is GET /u/<name>: a user's totals, what they share and transfer
// now, and (for themselves and admins) their quota.
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
	active, err := a.opts.Catalog.UserActiveTorrents(ctx, u.ID, time.Now().Add(-activeWindow), perPage)
	if err != nil {
		return err
	}
	for i := range active {
		r := activeRow{torrentRow: a.row(&active[i].Torrent), Seeding: active[i].Seeding,
			LastActive: active[i].LastActive.Local().Format("15:04")}
		if r.Seeding {
			v.Seeding = append(v.Seeding, r)
		} else {
			v.Leeching = append(v.Leeching, r)
		}
	}
	if viewer := currentUser(c); viewer != nil && (viewer.ID == u.ID || viewer.Role == catalog.RoleAdmin) {
		if err := a.fillQuota(c, u, &v); err != nil {
			return err
		}
	}
	return a.renderPage(c, http.StatusOK, "user", v)
}

// fillQuota puts the user's (and their group's) storage use into v.
func (a *App) fillQuota(c echo.Context, u *catalog.User, v *userView) error {
	use, err := a.opts.Catalog.Usage(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	v.ShowQuota = true
	v.QuotaUsed = config.HumanBytes(use.UserUsed)
	limit := a.opts.DefaultQuota
	if use.UserQuota != nil {
		limit = *use.UserQuota
	}
	v.QuotaLimit, v.QuotaPercent = quotaText(use.UserUsed, limit)
	if use.GroupID != 0 {
		v.GroupName, v.GroupUsed = use.GroupName, config.HumanBytes(use.GroupUsed)
		var gl int64
		if use.GroupQuota != nil {
			gl = *use.GroupQuota
		}
		v.GroupLimit, v.GroupPercent = quotaText(use.GroupUsed, gl)
	}
	return nil
}

// quotaText is a limit ("" for none) and the percentage used (0-100).
func quotaText(used, limit int64) (string, int) {
	if limit <= 0 {
		return "", 0
	}
	return config.HumanBytes(limit), int(min(100, used*100/limit))
}

func ratio(up, down int64) string {
	if down == 0 {
		return "∞"
	}
	return fmt.Sprintf("%.2f", float64(up)/float64(down))
}
