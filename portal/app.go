// Package portal is Seedbed's website and JSON API (labstack/echo v4): sign-in,
// uploads, torrent pages (the seed links), personalized .torrent files,
// magnets and the BEP 19 web seed. Handlers are thin: they bind the request,
// call the catalog or the publish pipeline, and render.
package portal

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/publish"
	"github.com/seedbed/seedbed/seedbox"
	"github.com/seedbed/seedbed/tracker"
)

// Swarms gives live swarm counts without a database query.
type Swarms interface {
	Counts(ih [20]byte) tracker.SwarmCounts
}

// Passkeys tells whether a passkey belongs to an enabled user, from memory.
type Passkeys interface {
	Valid(passkey string) bool
}

// Options wire the portal to the rest of the node.
type Options struct {
	Catalog        *catalog.Catalog
	Publisher      *publish.Publisher
	Volumes        *seedbox.Volumes
	Swarms         Swarms   // may be nil when the tracker runs elsewhere
	Passkeys       Passkeys // checks web seed passkeys
	Node           string   // this node's name: which replicas are local
	PublicURL      string
	SessionTTL     time.Duration
	MaxUploadSize  int64
	TrustedProxies []netip.Prefix
	Categories     []string
	// Metrics, if set, serves the tracker's Prometheus text; the admin page
	// reads peers, announces and LAN share from it.
	Metrics http.Handler
	// Registration is closed, open, domains (RegistrationDomains) or invite.
	Registration        string
	RegistrationDomains []string
	Version             string
	Logger              *slog.Logger
	// Deleted, if set, is called after a torrent was marked deleted, so the
	// node can drop it from the tracker and its volumes at once (the change
	// feed would within a second anyway).
	Deleted func(infoHash string)
	// DefaultQuota is the storage quota of a user who has none set, in
	// bytes; 0 means no limit.
	DefaultQuota int64
	// Retention is the retention policy whose current plan the admin
	// pages show; nil: none (the pages answer 404).
	Retention *config.Retention
	// Checker, when this process seeds too, verifies what the web seed
	// serves with the seeder's trust and reports bad replicas like it.
	Checker *seedbox.Checker
}

// App is the portal.
type App struct {
	opts    Options
	e       *echo.Echo
	render  *Renderer
	log     *slog.Logger
	secure  bool
	logins  *loginLimiter
	metrics metricsHistory
	quota   *quotaGuard
	tus     *tusUploads
}

// New builds the portal; it fails if a template is missing or broken.
func New(opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 30 * 24 * time.Hour
	}
	if len(opts.Categories) == 0 {
		opts.Categories = []string{"Course material", "Software", "Video", "Audio", "Books", "Images", "Other"}
	}
	r, err := NewRenderer(opts.Version)
	if err != nil {
		return nil, err
	}
	a := &App{opts: opts, render: r, log: opts.Logger.With("part", "portal"),
		secure: strings.HasPrefix(opts.PublicURL, "https://"),
		logins: newLoginLimiter(15*time.Minute, loginFailsPerIP, loginFailsPerName)}
	a.quota = newQuotaGuard(opts.Catalog, a.log, opts.Node, opts.DefaultQuota)
	if a.tus, err = a.newTusUploads(); err != nil {
		return nil, err
	}
	a.e = a.routes()
	return a, nil
}

// ServeHTTP makes the portal an http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.e.ServeHTTP(w, r) }

func (a *App) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ipExtractor(a.opts.TrustedProxies)
	e.HTTPErrorHandler = a.handleError
	e.Use(middleware.Recover())
	e.Use(a.logRequests)
	e.Use(a.authenticate)
	e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		CookieName:     "seedbed_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   a.secure,
		CookieSameSite: http.SameSiteLaxMode,
		Skipper:        skipCSRF,
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, "missing or stale form token: reload the page and try again")
		},
	}))

	e.GET("/healthz", a.healthz)
	e.GET("/static/:name", a.staticFile)
	e.GET("/static/vendor/:name", a.staticFile)
	e.GET("/", a.home)
	e.GET("/login", a.loginShow)
	e.POST("/login", a.loginSubmit)
	e.POST("/logout", a.logout)
	e.GET("/rss", a.rss)
	admin := e.Group("/admin", requireUser, requireAdmin)
	admin.GET("", a.adminShow)
	admin.POST("/users/:id/role", a.adminUserRole)
	admin.POST("/users/:id/disabled", a.adminUserDisabled)
	admin.POST("/users/:id/quota", a.adminUserQuota)
	admin.GET("/retention", a.adminRetentionShow)
	e.GET("/register", a.registerShow)
	e.POST("/register", a.registerSubmit)
	e.GET("/account", a.accountShow, requireUser)
	e.POST("/account/password", a.accountPassword, requireUser)
	e.POST("/account/passkey", a.accountPasskey, requireUser)
	e.POST("/account/tokens", a.accountTokenCreate, requireUser)
	e.POST("/account/tokens/:id/revoke", a.accountTokenRevoke, requireUser)
	e.POST("/account/invites", a.accountInviteCreate, requireUser)
	e.GET("/upload", a.uploadShow, requireUser)
	e.GET("/t/:ih", a.torrentShow)
	e.POST("/t/:ih/edit", a.torrentEditSubmit, requireUser)
	e.POST("/t/:ih/delete", a.torrentDeleteSubmit, requireUser)
	e.GET("/u/:name", a.userShow)
	e.GET("/torrents/:file", a.torrentFile)
	e.GET("/webseed/:passkey/:ih/*", a.webseed)
	e.HEAD("/webseed/:passkey/:ih/*", a.webseed)

	e.GET("/api/v1/openapi.json", a.openAPI)
	api := e.Group("/api/v1", requireUser)
	api.POST("/torrents", a.apiTorrentCreate)
	api.GET("/torrents", a.apiTorrentList)
	api.GET("/torrents/:ih", a.apiTorrentGet)
	api.PATCH("/torrents/:ih", a.apiTorrentPatch)
	api.DELETE("/torrents/:ih", a.apiTorrentDelete)
	api.GET("/dedupe", a.apiDedupe)
	api.GET("/admin/retention", a.apiAdminRetention, requireAdmin)
	a.tus.mount(e)
	return e
}

// skipCSRF exempts requests that carry their own credentials (a Bearer token
// cannot be sent by a cross-site form), API requests without a session
// cookie (they carry no ambient authority and get a 401) and the web seed.
func skipCSRF(c echo.Context) bool {
	r := c.Request()
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if _, err := r.Cookie(sessionCookie); err != nil {
			return true
		}
	}
	return strings.HasPrefix(r.Header.Get(echo.HeaderAuthorization), "Bearer ") ||
		strings.HasPrefix(r.URL.Path, "/webseed/") ||
		isTusPath(r.URL.Path) // checks its X-CSRF-Token header itself

}

func (a *App) healthz(c echo.Context) error {
	if err := a.opts.Catalog.Ping(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "catalog unreachable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (a *App) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		if a.log.Enabled(c.Request().Context(), slog.LevelDebug) || c.Response().Status >= 500 {
			a.log.Log(c.Request().Context(), levelFor(c.Response().Status), "request",
				"method", c.Request().Method, "path", c.Request().URL.Path,
				"status", c.Response().Status, "dur", time.Since(start), "ip", c.RealIP())
		}
		return nil
	}
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelDebug
}

// ipExtractor trusts X-Forwarded-For only from configured proxy ranges.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(prefixToIPNet(p)))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// apiError is the JSON error body of the API.
type apiError struct {
	Error string `json:"error"`
}

func (a *App) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(code)
		}
	case errors.Is(err, catalog.ErrNotFound):
		code, msg = http.StatusNotFound, "not found"
	default:
		a.log.Error("request failed", "path", c.Request().URL.Path, "err", err)
	}
	if wantsJSON(c) {
		c.JSON(code, apiError{Error: msg})
		return
	}
	a.renderPage(c, code, "error", errorView{Base: a.base(c), Title: http.StatusText(code), Message: msg})
}

func wantsJSON(c echo.Context) bool {
	r := c.Request()
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "application/json")
}
