package portal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/static"
	"github.com/seedbed/seedbed/templates"
)

var pages = []string{"login", "home", "upload", "torrent", "user", "error", "register", "account", "admin", "admin_retention"}

// Renderer holds one parsed template set per page (layout + page).
type Renderer struct {
	pages  map[string]*template.Template
	hashes map[string]string
}

// NewRenderer parses every page; a missing or broken page is an error.
func NewRenderer(version string) (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}, hashes: map[string]string{}}
	err := fs.WalkDir(static.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static.FS, name)
		sum := sha256.Sum256(b)
		r.hashes[name] = hex.EncodeToString(sum[:6])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read static files: %w", err)
	}
	funcs := template.FuncMap{"asset": r.assetURL, "markdown": renderMarkdown}
	for _, p := range pages {
		t, err := template.New(p).Funcs(funcs).ParseFS(templates.FS, "layout.html", p+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", p, err)
		}
		r.pages[p] = t
	}
	return r, nil
}

func (r *Renderer) assetURL(name string) (string, error) {
	h, ok := r.hashes[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + h, nil
}

// Render executes a page into a buffer first, so a template error never
// sends half a page.
func (r *Renderer) Render(page string, data any) ([]byte, error) {
	t, ok := r.pages[page]
	if !ok {
		return nil, fmt.Errorf("no page %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, fmt.Errorf("render %s: %w", page, err)
	}
	return buf.Bytes(), nil
}

func (a *App) renderPage(c echo.Context, code int, page string, data any) error {
	b, err := a.render.Render(page, data)
	if err != nil {
		return err
	}
	return c.HTMLBlob(code, b)
}

func (a *App) staticFile(c echo.Context) error {
	name := c.Param("name")
	if strings.Contains(name, "/") {
		return echo.ErrNotFound
	}
	if strings.HasPrefix(c.Request().URL.Path, "/static/vendor/") {
		name = "vendor/" + name
	}
	b, err := fs.ReadFile(static.FS, name)
	if err != nil {
		return echo.ErrNotFound
	}
	if c.QueryParam("v") == a.render.hashes[name] {
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = http.DetectContentType(b)
	}
	return c.Blob(http.StatusOK, ct, b)
}
