package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

const (
	sessionCookie = "seedbed_session"
	userKey       = "seedbed.user"
)

// authenticate loads the user from a Bearer token or the session cookie.
// Requests without credentials go on anonymously; routes that need a user
// are wrapped with requireUser.
func (a *App) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if tok, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer "); ok {
			u, err := a.opts.Catalog.UserByToken(ctx, strings.TrimSpace(tok))
			if err != nil {
				if errors.Is(err, catalog.ErrNotFound) {
					return echo.NewHTTPError(http.StatusUnauthorized, "invalid or revoked API token")
				}
				return err
			}
			c.Set(userKey, u)
			return next(c)
		}
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			u, err := a.opts.Catalog.SessionUser(ctx, ck.Value)
			switch {
			case err == nil:
				c.Set(userKey, u)
			case errors.Is(err, catalog.ErrNotFound):
				a.clearSession(c)
			default:
				return err
			}
		}
		return next(c)
	}
}

// currentUser is the signed-in user, or nil.
func currentUser(c echo.Context) *catalog.User {
	u, _ := c.Get(userKey).(*catalog.User)
	return u
}

// requireUser refuses anonymous requests: 401 for the API, a redirect to the
// sign-in page for pages.
func requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) != nil {
			return next(c)
		}
		if wantsJSON(c) {
			return echo.NewHTTPError(http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
		}
		return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
}

func (a *App) startSession(c echo.Context, u *catalog.User) error {
	tok, err := a.opts.Catalog.CreateSession(c.Request().Context(), u.ID, a.opts.SessionTTL)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: a.secure,
		SameSite: http.SameSiteLaxMode, Expires: time.Now().Add(a.opts.SessionTTL),
	})
	return nil
}

func (a *App) clearSession(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

type loginView struct {
	Base
	Name, Next, Error string
}

func (a *App) loginShow(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return a.renderPage(c, http.StatusOK, "login", loginView{Base: a.base(c), Next: safeNext(c.QueryParam("next"))})
}

func (a *App) loginSubmit(c echo.Context) error {
	name, next := strings.TrimSpace(c.FormValue("name")), safeNext(c.FormValue("next"))
	if wait, blocked := a.logins.Blocked(c.RealIP(), name); blocked {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return a.renderPage(c, http.StatusTooManyRequests, "login",
			loginView{Base: a.base(c), Name: name, Next: next, Error: waitMessage(wait)})
	}
	u, err := a.opts.Catalog.Authenticate(c.Request().Context(), name, c.FormValue("password"))
	if errors.Is(err, catalog.ErrBadCredentials) {
		a.logins.Fail(c.RealIP(), name)
		return a.renderPage(c, http.StatusUnauthorized, "login",
			loginView{Base: a.base(c), Name: name, Next: next, Error: "Wrong user name or password."})
	}
	if err != nil {
		return err
	}
	a.logins.Succeed(name)
	if err := a.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (a *App) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := a.opts.Catalog.DeleteSession(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	a.clearSession(c)
	return c.Redirect(http.StatusSeeOther, "/")
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}
