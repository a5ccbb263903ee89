package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/publish"
	"github.com/seedbed/seedbed/seedbox"
)

type harness struct {
	app   *App
	srv   *httptest.Server
	cat   *catalog.Catalog
	user  *catalog.User
	token string
}

type passkeySet map[string]bool

func (p passkeySet) Valid(pk string) bool { return p[pk] }

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessOn(t, "")
}

// newHarnessOn is newHarness on the catalog at dbURL ("": SQLite in a temp
// dir).
func newHarnessOn(t testing.TB, dbURL string) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cat, err := catalog.Open(ctx, catalog.Options{DataDir: dir, URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	row, err := cat.UpsertVolume(ctx, catalog.Volume{Name: "v1", Path: filepath.Join(dir, "v1"), Node: "n1", State: "active"})
	if err != nil {
		t.Fatal(err)
	}
	beatNode(t, cat, "n1") // replicas of offline nodes are neither listed nor web seeds
	vols, err := seedbox.NewVolumes([]seedbox.Volume{{ID: row.ID, Name: "v1", Path: row.Path, State: "active"}}, "most-free", "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := cat.CreateUser(ctx, "alice", "correct horse", "user")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cat.CreateToken(ctx, u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{cat: cat, user: u, token: tok}
	app, err := New(Options{
		Catalog: cat, Volumes: vols, Node: "n1", Passkeys: passkeySet{u.Passkey: true},
		Publisher:     &publish.Publisher{Catalog: cat, Volumes: vols, Node: "n1", Logger: slog.Default()},
		MaxUploadSize: 1 << 30, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.app = app
	h.srv = httptest.NewServer(app)
	app.opts.PublicURL = h.srv.URL
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) do(t *testing.T, method, path, token string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func multipartBody(files map[string]string, fields map[string]string) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, content := range files {
		w, _ := mw.CreateFormFile("file", name)
		io.WriteString(w, content)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (h *harness) upload(t *testing.T, files, fields map[string]string) (int, TorrentObject, string) {
	t.Helper()
	body, ct := multipartBody(files, fields)
	resp, b := h.do(t, "POST", "/api/v1/torrents", h.token, body, map[string]string{"Content-Type": ct})
	var obj TorrentObject
	json.Unmarshal(b, &obj)
	return resp.StatusCode, obj, string(b)
}

func TestAPIWithoutTokenIs401(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/api/v1/torrents", "/api/v1/dedupe?size=1&md5_10m=00000000000000000000000000000000"} {
		resp, b := h.do(t, "GET", p, "", nil, nil)
		if resp.StatusCode != 401 || !strings.Contains(string(b), `"error"`) {
			t.Errorf("%s: %d %s", p, resp.StatusCode, b)
		}
	}
	resp, _ := h.do(t, "GET", "/api/v1/torrents", "sbt_bogus", nil, nil)
	if resp.StatusCode != 401 {
		t.Errorf("bogus token: %d", resp.StatusCode)
	}
}

func TestLoginNeedsCSRFAndPassword(t *testing.T) {
	h := newHarness(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(h.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the login form:\n%s", page)
	}
	post := func(form url.Values) int {
		resp, err := c.PostForm(h.srv.URL+"/login", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(url.Values{"name": {"alice"}, "password": {"correct horse"}}); code != 403 {
		t.Errorf("login without CSRF token: %d, want 403", code)
	}
	if code := post(url.Values{"_csrf": {string(m[1])}, "name": {"alice"}, "password": {"wrong"}}); code != 401 {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code := post(url.Values{"_csrf": {string(m[1])}, "name": {"alice"}, "password": {"correct horse"}, "next": {"//evil.example"}}); code != 303 {
		t.Fatalf("login: %d, want 303", code)
	}
	resp, err = c.Get(h.srv.URL + "/upload")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload page after login: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func TestUploadTorrentFileAndWebSeed(t *testing.T) {
	h := newHarness(t)
	content := strings.Repeat("0123456789", 5000)
	code, obj, raw := h.upload(t, map[string]string{"notes.txt": content}, map[string]string{"title": "<script>alert(1)</script>"})
	if code != 201 || obj.Size != int64(len(content)) || obj.Duplicate {
		t.Fatalf("upload: %d %s", code, raw)
	}
	if !strings.Contains(obj.Magnet, "xt=urn:btih:"+obj.InfoHash) || !strings.Contains(obj.Magnet, h.user.Passkey) {
		t.Errorf("magnet %q", obj.Magnet)
	}

	resp, b := h.do(t, "GET", "/torrents/"+obj.InfoHash+".torrent", h.token, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf(".torrent: %d %s", resp.StatusCode, b)
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if mi.HashInfoBytes().HexString() != obj.InfoHash || !strings.HasSuffix(mi.Announce, "/announce/"+h.user.Passkey) {
		t.Errorf("announce %q infohash %s", mi.Announce, mi.HashInfoBytes().HexString())
	}
	info, _ := mi.UnmarshalInfo()
	if info.Private == nil || !*info.Private {
		t.Error("torrent is not private")
	}
	if len(mi.UrlList) != 1 {
		t.Fatalf("url-list %v", mi.UrlList)
	}
	if resp, _ := h.do(t, "GET", "/torrents/"+obj.InfoHash+".torrent?token="+url.QueryEscape(h.token), "", nil, nil); resp.StatusCode != 200 {
		t.Errorf("?token= download: %d", resp.StatusCode)
	}
	if resp, _ := h.do(t, "GET", "/torrents/"+obj.InfoHash+".torrent", "", nil, nil); resp.StatusCode != 303 {
		t.Errorf("anonymous .torrent: %d, want a redirect to sign in", resp.StatusCode)
	}

	ws := strings.TrimPrefix(mi.UrlList[0], h.srv.URL)
	resp, b = h.do(t, "GET", ws+"notes.txt", "", nil, map[string]string{"Range": "bytes=10-19"})
	if resp.StatusCode != 206 || string(b) != content[10:20] {
		t.Errorf("web seed range: %d %q", resp.StatusCode, b)
	}
	if resp, _ := h.do(t, "GET", strings.Replace(ws, h.user.Passkey, strings.Repeat("0", 32), 1)+"notes.txt", "", nil, nil); resp.StatusCode != 403 {
		t.Errorf("web seed with a bad passkey: %d", resp.StatusCode)
	}
	if resp, _ := h.do(t, "GET", ws+"other.txt", "", nil, nil); resp.StatusCode != 404 {
		t.Errorf("web seed of a file not in the torrent: %d", resp.StatusCode)
	}

	resp, b = h.do(t, "GET", "/u/alice", "", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "/t/"+obj.InfoHash) {
		t.Errorf("user page: %d, must list the upload", resp.StatusCode)
	}
	if resp, _ := h.do(t, "GET", "/u/nobody", "", nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown user page: %d", resp.StatusCode)
	}
	resp, b = h.do(t, "GET", "/t/"+obj.InfoHash, "", nil, nil)
	if resp.StatusCode != 200 || strings.Contains(string(b), "<script>alert(1)") || !strings.Contains(string(b), "&lt;script&gt;") {
		t.Errorf("torrent page must escape the title: %d", resp.StatusCode)
	}
}

func TestUploadRefusesBadInput(t *testing.T) {
	h := newHarness(t)
	for name, files := range map[string]map[string]string{
		"traversal": {"../../etc/passwd": "x"},
		"absolute":  {"/etc/passwd": "x"},
		"no files":  {},
	} {
		code, _, raw := h.upload(t, files, nil)
		if code != 400 || !strings.Contains(raw, `"error"`) {
			t.Errorf("%s: %d %s", name, code, raw)
		}
	}
	resp, _ := h.do(t, "POST", "/api/v1/torrents", h.token, strings.NewReader("x"), map[string]string{"Content-Type": "text/plain"})
	if resp.StatusCode != 400 {
		t.Errorf("non-multipart: %d", resp.StatusCode)
	}
}

func TestDuplicateAndDedupeQuery(t *testing.T) {
	h := newHarness(t)
	_, first, _ := h.upload(t, map[string]string{"a.bin": "same bytes"}, nil)
	code, dup, _ := h.upload(t, map[string]string{"b.bin": "same bytes"}, nil)
	if code != 200 || !dup.Duplicate || dup.InfoHash != first.InfoHash {
		t.Fatalf("duplicate: %d %+v", code, dup)
	}
	resp, b := h.do(t, "GET", "/api/v1/torrents", h.token, nil, nil)
	var list struct {
		Torrents []TorrentObject
		Total    int
	}
	json.Unmarshal(b, &list)
	if resp.StatusCode != 200 || list.Total != 1 || len(list.Torrents) != 1 ||
		!strings.Contains(list.Torrents[0].Magnet, "xt=urn:btih:"+first.InfoHash) {
		t.Fatalf("list for a signed-in user: %d %s", resp.StatusCode, b)
	}
	_, b = h.do(t, "GET", fmt.Sprintf("/api/v1/dedupe?size=%d&md5_10m=%s", first.Size, first.MD510M), h.token, nil, nil)
	var r struct {
		Match   bool
		Torrent TorrentObject
	}
	json.Unmarshal(b, &r)
	if !r.Match || r.Torrent.InfoHash != first.InfoHash {
		t.Errorf("dedupe query: %s", b)
	}
	if resp, _ := h.do(t, "GET", "/api/v1/dedupe?size=x", h.token, nil, nil); resp.StatusCode != 400 {
		t.Errorf("bad dedupe query: %d", resp.StatusCode)
	}
}

// TestDroppedUploadLeavesNothing cuts an upload mid-body: nothing is
// registered and no staged byte stays on the volume.
func TestDroppedUploadLeavesNothing(t *testing.T) {
	h := newHarness(t)
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, _ := mw.CreateFormFile("file", "big.bin")
		w.Write(bytes.Repeat([]byte("x"), 3<<20))
		pw.CloseWithError(fmt.Errorf("wifi dropped"))
	}()
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/torrents", pr)
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.ContentLength = 10 << 20
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	vol, _ := h.cat.Volumes(context.Background())
	staging := filepath.Join(vol[0].Path, ".staging")
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, _ := os.ReadDir(staging)
		if len(entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("staged data left after a dropped upload: %v", entries)
		}
		time.Sleep(20 * time.Millisecond)
	}
	list, total, err := h.cat.ListTorrents(context.Background(), catalog.ListQuery{})
	if err != nil || total != 0 || len(list) != 0 {
		t.Errorf("a torrent was registered from a dropped upload: %d %v", total, err)
	}
}
