package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
)

// adminUser reads the user id in the path.
func adminUserID(c echo.Context) (uint64, error) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return 0, echo.NewHTTPError(http.StatusBadRequest, "bad user id")
	}
	return id, nil
}

// adminDone redirects back to the admin page after a change.
func adminDone(c echo.Context, err error) error {
	var ve *catalog.ValidationError
	switch {
	case errors.As(err, &ve):
		return echo.NewHTTPError(http.StatusBadRequest, ve.Error())
	case errors.Is(err, catalog.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, "no such user")
	case err != nil:
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin#users")
}

// adminUserRole is POST /admin/users/{id}/role (role=user|moderator|admin).
// An admin cannot demote themselves, so a site always keeps one.
func (a *App) adminUserRole(c echo.Context) error {
	id, err := adminUserID(c)
	if err != nil {
		return err
	}
	if id == currentUser(c).ID {
		return echo.NewHTTPError(http.StatusBadRequest, "you cannot change your own role")
	}
	return adminDone(c, a.opts.Catalog.SetRole(c.Request().Context(), id, catalog.Role(c.FormValue("role"))))
}

// adminUserDisabled is POST /admin/users/{id}/disabled (disabled=1|0): a
// disabled user cannot sign in, and the tracker refuses their passkey.
func (a *App) adminUserDisabled(c echo.Context) error {
	id, err := adminUserID(c)
	if err != nil {
		return err
	}
	if id == currentUser(c).ID {
		return echo.NewHTTPError(http.StatusBadRequest, "you cannot disable yourself")
	}
	return adminDone(c, a.opts.Catalog.SetDisabled(c.Request().Context(), id, c.FormValue("disabled") == "1"))
}

// adminUserQuota is POST /admin/users/{id}/quota (quota: a size such as
// "20GiB"; empty for the default).
func (a *App) adminUserQuota(c echo.Context) error {
	id, err := adminUserID(c)
	if err != nil {
		return err
	}
	var quota *int64
	if s := strings.TrimSpace(c.FormValue("quota")); s != "" {
		z, err := config.ParseSize(s)
		if err != nil || z < 0 {
			return echo.NewHTTPError(http.StatusBadRequest, "quota must be a size such as 20GiB, or empty for the default")
		}
		n := int64(z)
		quota = &n
	}
	return adminDone(c, a.opts.Catalog.SetUserQuota(c.Request().Context(), id, quota))
}
