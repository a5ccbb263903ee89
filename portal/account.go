package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

// Sign-in limits: failures per client address and per user name within 15
// minutes before sign-ins are refused for the rest of the window.
const (
	loginFailsPerIP   = 20
	loginFailsPerName = 5
)

type tokenRow struct {
	ID             uint64
	Label, Created string
}

type accountView struct {
	Base
	Name, Role, Email, Passkey, Announce string
	RSSBase                              string
	Tokens                               []tokenRow
	NewToken, NewInvite                  string
	CanInvite                            bool
	Invites                              int
	Error                                string
}

var accountNotices = map[string]string{
	"welcome":  "Welcome! Your account is ready.",
	"password": "Your password was changed; other sessions were signed out.",
	"passkey":  "You have a new passkey. Download your .torrent files again: the old passkey no longer works.",
	"revoked":  "The token was revoked.",
}

// accountShow is GET /account: password, passkey, API tokens.
func (a *App) accountShow(c echo.Context) error {
	return a.renderAccount(c, http.StatusOK, accountView{})
}

func (a *App) renderAccount(c echo.Context, code int, v accountView) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	v.Base = a.base(c)
	v.Flash = accountNotices[c.QueryParam("done")]
	v.Name, v.Role, v.Passkey = u.Name, string(u.Role), u.Passkey
	v.Announce = a.opts.PublicURL + "/announce/" + u.Passkey
	v.RSSBase = a.opts.PublicURL + "/rss?token="
	var err error
	if v.Email, err = a.opts.Catalog.UserEmail(ctx, u.ID); err != nil {
		return err
	}
	toks, err := a.opts.Catalog.Tokens(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, t := range toks {
		v.Tokens = append(v.Tokens, tokenRow{ID: t.ID, Label: t.Label, Created: t.CreatedAt.Local().Format("2 Jan 2006 15:04")})
	}
	v.CanInvite = a.canInvite(u)
	if v.CanInvite {
		inv, err := a.opts.Catalog.Invites(ctx)
		if err != nil {
			return err
		}
		v.Invites = len(inv)
	}
	return a.renderPage(c, code, "account", v)
}

// accountPassword is POST /account/password.
func (a *App) accountPassword(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	if wait, blocked := a.logins.Blocked(c.RealIP(), u.Name); blocked {
		return a.renderAccount(c, http.StatusTooManyRequests, accountView{Error: waitMessage(wait)})
	}
	if _, err := a.opts.Catalog.Authenticate(ctx, u.Name, c.FormValue("current")); err != nil {
		if errors.Is(err, catalog.ErrBadCredentials) {
			a.logins.Fail(c.RealIP(), u.Name)
			return a.renderAccount(c, http.StatusUnauthorized, accountView{Error: "Your current password is not right."})
		}
		return err
	}
	if c.FormValue("password") != c.FormValue("password2") {
		return a.renderAccount(c, http.StatusBadRequest, accountView{Error: "The two new passwords differ."})
	}
	err := a.opts.Catalog.SetPassword(ctx, u.ID, c.FormValue("password"))
	var ve *catalog.ValidationError
	if errors.As(err, &ve) {
		return a.renderAccount(c, http.StatusBadRequest, accountView{Error: "New password: " + ve.Reason + "."})
	}
	if err != nil {
		return err
	}
	if _, err := a.opts.Catalog.DeleteUserSessions(ctx, u.ID); err != nil {
		return err
	}
	if err := a.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account?done=password")
}

// accountPasskey is POST /account/passkey: a new passkey; the tracker
// refuses the old one within a second (the catalog's change feed).
func (a *App) accountPasskey(c echo.Context) error {
	if _, err := a.opts.Catalog.RotatePasskey(c.Request().Context(), currentUser(c).ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account?done=passkey")
}

// accountTokenCreate is POST /account/tokens: the new token is shown once.
func (a *App) accountTokenCreate(c echo.Context) error {
	tok, err := a.opts.Catalog.CreateToken(c.Request().Context(), currentUser(c).ID, c.FormValue("label"))
	var ve *catalog.ValidationError
	if errors.As(err, &ve) {
		return a.renderAccount(c, http.StatusBadRequest, accountView{Error: "Token label: " + ve.Reason + "."})
	}
	if err != nil {
		return err
	}
	return a.renderAccount(c, http.StatusOK, accountView{NewToken: tok})
}

// accountTokenRevoke is POST /account/tokens/{id}/revoke.
func (a *App) accountTokenRevoke(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "bad token id")
	}
	if err := a.opts.Catalog.RevokeToken(c.Request().Context(), currentUser(c).ID, id); err != nil {
		if errors.Is(err, catalog.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "you have no such token")
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account?done=revoked")
}

// canInvite: moderators and admins hand out invitation codes.
func (a *App) canInvite(u *catalog.User) bool {
	return u != nil && a.registrationMode() == regInvite && (u.Role == catalog.RoleModerator || u.Role == catalog.RoleAdmin)
}

// accountInviteCreate is POST /account/invites: one single-use code, shown
// once with its sign-up link.
func (a *App) accountInviteCreate(c echo.Context) error {
	u := currentUser(c)
	if !a.canInvite(u) {
		return echo.NewHTTPError(http.StatusForbidden, "only moderators and admins invite, and only with registration = \"invite\"")
	}
	code, err := a.opts.Catalog.CreateInvite(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	return a.renderAccount(c, http.StatusOK, accountView{NewInvite: strings.TrimSpace(code)})
}
