package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

// Registration modes (config portal.registration).
const (
	regClosed  = "closed"
	regOpen    = "open"
	regDomains = "domains"
	regInvite  = "invite"
)

// registerKey is the rate limiter's name key for sign-up attempts (wrong
// invitation codes count as failures, so codes cannot be guessed).
const registerKey = "\x00register"

type registerView struct {
	Base
	Mode, Name, Email, Invite, Error string
	Domains                          []string
}

func (a *App) registrationMode() string {
	if a.opts.Registration == "" {
		return regClosed
	}
	return a.opts.Registration
}

// registerShow is GET /register.
func (a *App) registerShow(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	v := registerView{Base: a.base(c), Mode: a.registrationMode(), Domains: a.opts.RegistrationDomains,
		Invite: c.QueryParam("invite")}
	code := http.StatusOK
	if v.Mode == regClosed {
		code = http.StatusForbidden
	}
	return a.renderPage(c, code, "register", v)
}

// registerSubmit is POST /register.
func (a *App) registerSubmit(c echo.Context) error {
	v := registerView{Base: a.base(c), Mode: a.registrationMode(), Domains: a.opts.RegistrationDomains,
		Name: strings.TrimSpace(c.FormValue("name")), Email: strings.TrimSpace(c.FormValue("email")),
		Invite: strings.TrimSpace(c.FormValue("invite"))}
	fail := func(code int, msg string) error {
		v.Error = msg
		return a.renderPage(c, code, "register", v)
	}
	if v.Mode == regClosed {
		return fail(http.StatusForbidden, "Registration is closed: ask an administrator for an account.")
	}
	if wait, blocked := a.logins.Blocked(c.RealIP(), registerKey); blocked {
		return fail(http.StatusTooManyRequests, waitMessage(wait))
	}
	if c.FormValue("password") != c.FormValue("password2") {
		return fail(http.StatusBadRequest, "The two passwords differ.")
	}
	reg := catalog.Registration{Name: v.Name, Email: v.Email, Password: c.FormValue("password")}
	switch v.Mode {
	case regDomains:
		if !emailInDomains(v.Email, a.opts.RegistrationDomains) {
			return fail(http.StatusForbidden, "Sign up with an email address of "+strings.Join(a.opts.RegistrationDomains, " or ")+".")
		}
	case regInvite:
		if v.Invite == "" {
			return fail(http.StatusForbidden, "An invitation code is needed to sign up.")
		}
		reg.Invite = v.Invite
	}
	u, err := a.opts.Catalog.Register(c.Request().Context(), reg)
	var ve *catalog.ValidationError
	switch {
	case errors.Is(err, catalog.ErrBadInvite):
		a.logins.Fail(c.RealIP(), registerKey)
		return fail(http.StatusForbidden, "That invitation code is unknown or was already used.")
	case errors.Is(err, catalog.ErrConflict):
		return fail(http.StatusConflict, "That user name or email address is taken.")
	case errors.As(err, &ve):
		return fail(http.StatusBadRequest, "Please fix: "+ve.Error()+".")
	case err != nil:
		return err
	}
	a.log.Info("user registered", "name", u.Name, "mode", v.Mode)
	if err := a.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account?done=welcome")
}

// emailInDomains tells whether email's domain is one of domains or a
// subdomain of one.
func emailInDomains(email string, domains []string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	host := strings.ToLower(email[at+1:])
	for _, d := range domains {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		if d != "" && (host == d || strings.HasSuffix(host, "."+d)) {
			return true
		}
	}
	return false
}
