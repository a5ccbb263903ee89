package portal

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/seedbed/seedbed/catalog"
)

// addUser creates a user with the password "correct horse" and an API token.
func (h *harness) addUser(t *testing.T, name string, role catalog.Role) (*catalog.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := h.cat.CreateUser(ctx, name, "correct horse", role)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.cat.CreateToken(ctx, u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return u, tok
}

// browser is a signed-in cookie session, as a person's browser would hold.
type browser struct {
	t   *testing.T
	h   *harness
	c   *http.Client
	jar http.CookieJar
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// anon is a fresh browser that is not signed in.
func (h *harness) anon(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, h: h, jar: jar, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signIn logs name in through the login form.
func (h *harness) signIn(t *testing.T, name string) *browser {
	t.Helper()
	b := h.anon(t)
	code, _ := b.post("/login", "/login", url.Values{"name": {name}, "password": {"correct horse"}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", name, code)
	}
	return b
}

// get fetches a page.
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.h.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// csrf reads the form token from a page.
func (b *browser) csrf(page string) string {
	b.t.Helper()
	_, body := b.get(page)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", page)
	}
	return m[1]
}

// post submits a form with the CSRF token taken from the page formPage
// (empty: no token).
func (b *browser) post(formPage, path string, form url.Values) (int, string) {
	b.t.Helper()
	if formPage != "" {
		form.Set("_csrf", b.csrf(formPage))
	}
	resp, err := b.c.PostForm(b.h.srv.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if loc := resp.Header.Get("Location"); loc != "" {
		return resp.StatusCode, loc
	}
	return resp.StatusCode, string(body)
}

func TestPatchAndDeletePermissions(t *testing.T) {
	h := newHarness(t)
	_, bobTok := h.addUser(t, "bob", catalog.RoleUser)
	_, modTok := h.addUser(t, "mod", catalog.RoleModerator)
	_, adminTok := h.addUser(t, "root", catalog.RoleAdmin)
	code, obj, raw := h.upload(t, map[string]string{"a.txt": "alpha content"}, map[string]string{"title": "Alpha"})
	if code != 201 {
		t.Fatalf("upload: %d %s", code, raw)
	}
	path := "/api/v1/torrents/" + obj.InfoHash
	patch := func(tok, body string) (int, TorrentObject) {
		resp, b := h.do(t, "PATCH", path, tok, strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
		var o TorrentObject
		json.Unmarshal(b, &o)
		return resp.StatusCode, o
	}
	if c, _ := patch("", `{"title":"x"}`); c != 401 {
		t.Errorf("PATCH without token: %d, want 401", c)
	}
	if c, _ := patch(bobTok, `{"title":"Bob's now"}`); c != 403 {
		t.Errorf("PATCH by another user: %d, want 403", c)
	}
	c, o := patch(h.token, `{"title":"  Alpha v2 ","category":"Books","description":"**bold**"}`)
	if c != 200 || o.Title != "Alpha v2" || o.Category != "Books" || o.Description != "**bold**" {
		t.Errorf("PATCH by the uploader: %d %+v", c, o)
	}
	if c, o := patch(modTok, `{"category":"Other"}`); c != 200 || o.Category != "Other" || o.Title != "Alpha v2" {
		t.Errorf("PATCH by a moderator: %d %+v", c, o)
	}
	if c, _ := patch(h.token, `{"title":""}`); c != 400 {
		t.Errorf("PATCH with an empty title: %d, want 400", c)
	}
	if c, _ := patch(h.token, `{"owner":"bob"}`); c != 400 {
		t.Errorf("PATCH with an unknown field: %d, want 400", c)
	}
	if resp, _ := h.do(t, "DELETE", path, "", nil, nil); resp.StatusCode != 401 {
		t.Errorf("DELETE without token: %d", resp.StatusCode)
	}
	if resp, _ := h.do(t, "DELETE", path, bobTok, nil, nil); resp.StatusCode != 403 {
		t.Errorf("DELETE by another user: %d, want 403", resp.StatusCode)
	}
	if resp, b := h.do(t, "DELETE", path, adminTok, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("DELETE by an admin: %d %s", resp.StatusCode, b)
	}
	tor, err := h.cat.TorrentByInfoHash(context.Background(), obj.InfoHash)
	if err != nil || tor.State != catalog.StateDeleted {
		t.Fatalf("after delete: %v %v", tor, err)
	}
	for _, p := range []string{path, "/torrents/" + obj.InfoHash + ".torrent"} {
		if resp, _ := h.do(t, "GET", p, h.token, nil, nil); resp.StatusCode != 410 {
			t.Errorf("GET %s after delete: %d, want 410", p, resp.StatusCode)
		}
	}
	if resp, b := h.do(t, "GET", "/t/"+obj.InfoHash, "", nil, nil); resp.StatusCode != 410 || !strings.Contains(string(b), "deleted") {
		t.Errorf("page after delete: %d", resp.StatusCode)
	}
	if resp, b := h.do(t, "GET", "/api/v1/torrents", h.token, nil, nil); resp.StatusCode != 200 || strings.Contains(string(b), obj.InfoHash) {
		t.Errorf("list after delete still shows it: %s", b)
	}
	if resp, _ := h.do(t, "DELETE", path, h.token, nil, nil); resp.StatusCode != 410 {
		t.Errorf("second DELETE: %d, want 410", resp.StatusCode)
	}
}

func TestEditAndDeleteForms(t *testing.T) {
	h := newHarness(t)
	h.addUser(t, "bob", catalog.RoleUser)
	code, obj, raw := h.upload(t, map[string]string{"b.txt": "bravo content"}, map[string]string{"title": "Bravo"})
	if code != 201 {
		t.Fatalf("upload: %d %s", code, raw)
	}
	page := "/t/" + obj.InfoHash
	bob := h.signIn(t, "bob")
	if _, body := bob.get(page); strings.Contains(body, "/delete") {
		t.Error("another user sees the delete form")
	}
	if c, _ := bob.post(page, page+"/edit", url.Values{"title": {"mine now"}}); c != 403 {
		t.Errorf("edit form by another user: %d, want 403", c)
	}
	if c, _ := bob.post(page, page+"/delete", url.Values{}); c != 403 {
		t.Errorf("delete form by another user: %d, want 403", c)
	}
	alice := h.signIn(t, "alice")
	if _, body := alice.get(page); !strings.Contains(body, page+"/delete") {
		t.Error("the uploader does not see the delete form")
	}
	if c, _ := alice.post("", page+"/edit", url.Values{"title": {"no token"}}); c != 403 {
		t.Errorf("edit form without CSRF token: %d, want 403", c)
	}
	if c, loc := alice.post(page, page+"/edit", url.Values{"title": {"Bravo <b>2</b>"}, "category": {"Books"}, "description": {"hi"}}); c != 303 || loc != page+"?saved=1" {
		t.Fatalf("edit form: %d %s", c, loc)
	}
	if _, body := alice.get(page); !strings.Contains(body, "Bravo &lt;b&gt;2&lt;/b&gt;") {
		t.Error("edited title not shown escaped")
	}
	if c, _ := alice.post("", page+"/delete", url.Values{}); c != 403 {
		t.Errorf("delete form without CSRF token: %d, want 403", c)
	}
	if c, loc := alice.post(page, page+"/delete", url.Values{}); c != 303 || loc != "/?deleted=1" {
		t.Fatalf("delete form: %d %s", c, loc)
	}
	if c, _ := alice.get(page); c != 410 {
		t.Errorf("page after delete: %d, want 410", c)
	}
}

func TestReuploadOfDeletedContentIsRefused(t *testing.T) {
	h := newHarness(t)
	files := map[string]string{"gone.txt": "content that a moderator removed"}
	code, obj, raw := h.upload(t, files, nil)
	if code != 201 {
		t.Fatalf("upload: %d %s", code, raw)
	}
	if resp, _ := h.do(t, "DELETE", "/api/v1/torrents/"+obj.InfoHash, h.token, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if code, _, raw := h.upload(t, files, nil); code != 410 || !strings.Contains(raw, "deleted") {
		t.Errorf("re-upload of deleted content: %d %s, want 410", code, raw)
	}
}
