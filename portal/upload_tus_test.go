package portal

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/seedbed/seedbed/ingest"
	"github.com/seedbed/seedbed/seedbox"
)

// tusHarness is a portal on a real catalog and volume in a temp dir.
// tusHarness is the portal harness plus the path of its one volume.
type tusHarness struct {
	*harness
	volume string
}

func newTusHarness(t *testing.T) *tusHarness {
	t.Helper()
	h := newHarness(t)
	return &tusHarness{harness: h, volume: h.app.opts.Volumes.List()[0].Path}
}

func tusMeta(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

func (h *tusHarness) req(t *testing.T, method, url, token string, body []byte, hdr map[string]string) *http.Response {
	t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = h.srv.URL + url
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Tus-Resumable", "1.0.0")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// create starts an upload and returns its URL.
func (h *tusHarness) create(t *testing.T, size int, meta string) string {
	t.Helper()
	resp := h.req(t, "POST", "/api/v1/uploads/", h.token, nil, map[string]string{
		"Upload-Length": strconv.Itoa(size), "Upload-Metadata": meta})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, bodyOf(resp))
	}
	return resp.Header.Get("Location")
}

// send PATCHes data from offset in chunks of at most chunk bytes and
// returns the last reply.
func (h *tusHarness) send(t *testing.T, loc string, data []byte, offset, chunk int) *http.Response {
	t.Helper()
	var resp *http.Response
	for offset < len(data) {
		end := min(offset+chunk, len(data))
		resp = h.req(t, "PATCH", loc, h.token, data[offset:end], map[string]string{
			"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.Itoa(offset)})
		if resp.StatusCode != 204 {
			t.Fatalf("PATCH at %d: %d %s", offset, resp.StatusCode, bodyOf(resp))
		}
		offset = end
	}
	return resp
}

// localInfoHash hashes files (path -> content) with ingest, as the server
// should.
func localInfoHash(t testing.TB, files map[string][]byte) string {
	t.Helper()
	var total int64
	paths := make([]string, 0, len(files))
	for p, b := range files {
		paths = append(paths, p)
		total += int64(len(b))
	}
	sort.Strings(paths)
	up, err := ingest.NewUpload(filepath.Join(t.TempDir(), "x"), total)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	for _, p := range paths {
		if _, err := up.AddFile(p, bytes.NewReader(files[p])); err != nil {
			t.Fatal(err)
		}
	}
	res, err := up.Finish("")
	if err != nil {
		t.Fatal(err)
	}
	return res.InfoHash.HexString()
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

// stagedLeft lists what is left in the volume's staging folder, apart from
// finished-upload records.
func (h *tusHarness) stagedLeft(t *testing.T) []string {
	var left []string
	filepath.WalkDir(filepath.Join(h.volume, ".staging"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".done") {
			left = append(left, p)
		}
		return nil
	})
	return left
}

func TestTusSingleFileBecomesTorrent(t *testing.T) {
	h := newTusHarness(t)
	data := pattern(300_000, 1)
	want := localInfoHash(t, map[string][]byte{"lecture.bin": data})

	loc := h.create(t, len(data), tusMeta("filename", "lecture.bin", "title", "Lecture 1", "category", "Video"))
	if !strings.Contains(loc, "/api/v1/uploads/") {
		t.Fatalf("Location %q", loc)
	}
	resp := h.send(t, loc, data, 0, 100_000)
	if got := resp.Header.Get(headerInfoHash); got != want {
		t.Fatalf("Seedbed-Info-Hash %q, want %q", got, want)
	}
	if d := resp.Header.Get(headerDuplicate); d != "false" {
		t.Errorf("Seedbed-Duplicate %q", d)
	}
	t1, err := h.cat.TorrentByInfoHash(context.Background(), want)
	if err != nil || t1.Title != "Lecture 1" || t1.Category != "Video" || t1.Size != int64(len(data)) {
		t.Fatalf("torrent row %+v %v", t1, err)
	}
	stored, err := os.ReadFile(filepath.Join(seedbox.TorrentDir(h.volume, want), "lecture.bin"))
	if err != nil || !bytes.Equal(stored, data) {
		t.Fatalf("stored content: %v", err)
	}
	if left := h.stagedLeft(t); len(left) > 0 {
		t.Errorf("staged files left: %v", left)
	}

	// The reply is not lost with the connection: HEAD and PATCH repeat it.
	head := h.req(t, "HEAD", loc, h.token, nil, nil)
	if head.StatusCode != 200 || head.Header.Get(headerInfoHash) != want ||
		head.Header.Get("Upload-Offset") != strconv.Itoa(len(data)) {
		t.Errorf("HEAD after finish: %d %v", head.StatusCode, head.Header)
	}
	again := h.req(t, "PATCH", loc, h.token, nil, map[string]string{
		"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.Itoa(len(data))})
	if again.StatusCode != 204 || again.Header.Get(headerInfoHash) != want {
		t.Errorf("PATCH after finish: %d %v", again.StatusCode, again.Header)
	}

	// The same content again, by tus and by multipart: a duplicate.
	loc2 := h.create(t, len(data), tusMeta("filename", "lecture.bin"))
	resp = h.send(t, loc2, data, 0, len(data))
	if resp.Header.Get(headerInfoHash) != want || resp.Header.Get(headerDuplicate) != "true" {
		t.Errorf("second upload: %v", resp.Header)
	}
	body, ct := multipartBody(map[string]string{"lecture.bin": string(data)}, nil)
	mresp := h.req(t, "POST", "/api/v1/torrents", h.token, mustRead(body), map[string]string{"Content-Type": ct})
	if mresp.StatusCode != 200 || !strings.Contains(bodyOf(mresp), want) {
		t.Errorf("multipart of the same content: %d", mresp.StatusCode)
	}
}

func mustRead(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}

func TestTusFolderIsOneTorrent(t *testing.T) {
	h := newTusHarness(t)
	files := map[string][]byte{
		"course/a.txt":        pattern(70_000, 2),
		"course/notes/b.pdf":  pattern(123_457, 3),
		"course/notes/c.none": {},
	}
	want := localInfoHash(t, files)
	// Sent out of order, as a browser may.
	order := []string{"course/notes/b.pdf", "course/notes/c.none", "course/a.txt"}
	var last *http.Response
	for i, p := range order {
		loc := h.create(t, len(files[p]), tusMeta("filename", p, "folder", "f-123", "folder_files", "3", "title", "Course"))
		if len(files[p]) == 0 {
			continue // complete at creation
		}
		last = h.send(t, loc, files[p], 0, 50_000)
		if i < len(order)-1 {
			if last.Header.Get(headerInfoHash) != "" || last.Header.Get(headerFolderRemaining) == "" {
				t.Errorf("file %d of 3: %v", i+1, last.Header)
			}
		}
	}
	if got := last.Header.Get(headerInfoHash); got != want {
		t.Fatalf("folder infohash %q, want %q", got, want)
	}
	tr, err := h.cat.TorrentByInfoHash(context.Background(), want)
	if err != nil || tr.Name != "course" || len(tr.Files) != 3 || tr.Title != "Course" {
		t.Fatalf("torrent %+v %v", tr, err)
	}
	if left := h.stagedLeft(t); len(left) > 0 {
		t.Errorf("staged files left: %v", left)
	}
}

func TestTusRefusals(t *testing.T) {
	h := newTusHarness(t)
	ctx := context.Background()
	create := func(token string, size int, meta string, hdr map[string]string) *http.Response {
		m := map[string]string{"Upload-Length": strconv.Itoa(size), "Upload-Metadata": meta}
		for k, v := range hdr {
			m[k] = v
		}
		return h.req(t, "POST", "/api/v1/uploads/", token, nil, m)
	}
	if r := create("", 10, tusMeta("filename", "a"), nil); r.StatusCode != 401 {
		t.Errorf("no token: %d", r.StatusCode)
	}
	if r := create(h.token, 10, tusMeta("filename", "../../etc/passwd"), nil); r.StatusCode != 400 || !strings.Contains(bodyOf(r), `"error"`) {
		t.Errorf("path traversal: %d", r.StatusCode)
	}
	if r := create(h.token, 10, tusMeta("title", "no name"), nil); r.StatusCode != 400 {
		t.Errorf("no filename: %d", r.StatusCode)
	}
	if r := create(h.token, 10, tusMeta("filename", "a", "folder", "x"), nil); r.StatusCode != 400 {
		t.Errorf("folder without folder_files: %d", r.StatusCode)
	}

	if r := create(h.token, 2<<30, tusMeta("filename", "huge"), nil); r.StatusCode != 413 || !strings.Contains(bodyOf(r), `"error"`) {
		t.Errorf("over the size limit: %d %s", r.StatusCode, bodyOf(r))
	}
	// Quotas: the user's own, then the group's; refused before any byte.
	q := int64(1000)
	if err := h.cat.SetUserQuota(ctx, h.user.ID, &q); err != nil {
		t.Fatal(err)
	}
	r := create(h.token, 1001, tusMeta("filename", "big"), nil)
	if r.StatusCode != 413 || !strings.Contains(bodyOf(r), "quota") {
		t.Errorf("over user quota: %d %s", r.StatusCode, bodyOf(r))
	}
	body, ct := multipartBody(map[string]string{"big": strings.Repeat("x", 2000)}, nil)
	if r := h.req(t, "POST", "/api/v1/torrents", h.token, mustRead(body), map[string]string{"Content-Type": ct}); r.StatusCode != 413 {
		t.Errorf("multipart over quota: %d %s", r.StatusCode, bodyOf(r))
	}
	if r := create(h.token, 600, tusMeta("filename", "fits"), nil); r.StatusCode != 201 {
		t.Errorf("within quota: %d %s", r.StatusCode, bodyOf(r))
	}
	// The unfinished 600 bytes count: 600 more do not fit.
	if r := create(h.token, 600, tusMeta("filename", "fits2"), nil); r.StatusCode != 413 {
		t.Errorf("pending uploads not counted: %d", r.StatusCode)
	}
	if err := h.cat.SetUserQuota(ctx, h.user.ID, nil); err != nil {
		t.Fatal(err)
	}
	gq := int64(700)
	g, err := h.cat.CreateGroup(ctx, "Dorm A", &gq)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cat.SetUserGroup(ctx, h.user.ID, &g.ID); err != nil {
		t.Fatal(err)
	}
	if r := create(h.token, 200, tusMeta("filename", "g"), nil); r.StatusCode != 413 || !strings.Contains(bodyOf(r), "Dorm A") {
		t.Errorf("over group quota: %d %s", r.StatusCode, bodyOf(r))
	}

	// Another user's upload does not exist for you.
	loc := h.create(t, 0+1, tusMeta("filename", "mine"))
	_ = loc
	bob, _ := h.cat.CreateUser(ctx, "bob", "correct horse", "user")
	bobTok, _ := h.cat.CreateToken(ctx, bob.ID, "t")
	for _, m := range []string{"HEAD", "PATCH", "DELETE"} {
		if r := h.req(t, m, loc, bobTok, nil, map[string]string{"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}); r.StatusCode != 404 {
			t.Errorf("%s of another user's upload: %d", m, r.StatusCode)
		}
	}
	// Termination removes it.
	if r := h.req(t, "DELETE", loc, h.token, nil, nil); r.StatusCode != 204 {
		t.Errorf("DELETE: %d", r.StatusCode)
	}
	if r := h.req(t, "HEAD", loc, h.token, nil, nil); r.StatusCode != 404 {
		t.Errorf("HEAD after DELETE: %d", r.StatusCode)
	}
}

func TestTusSessionNeedsCSRFHeader(t *testing.T) {
	h := newTusHarness(t)
	ctx := context.Background()
	sess, err := h.cat.CreateSession(ctx, h.user.ID, 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string]string{"Upload-Length": "5", "Upload-Metadata": tusMeta("filename", "a"),
		"Cookie": "seedbed_session=" + sess + "; seedbed_csrf=tok123"}
	if r := h.req(t, "POST", "/api/v1/uploads/", "", nil, hdr); r.StatusCode != 403 {
		t.Errorf("session without CSRF header: %d", r.StatusCode)
	}
	hdr["Sec-Fetch-Site"] = "cross-site"
	hdr["X-CSRF-Token"] = "tok123"
	if r := h.req(t, "POST", "/api/v1/uploads/", "", nil, hdr); r.StatusCode != 403 {
		t.Errorf("cross-site request: %d", r.StatusCode)
	}
	hdr["Sec-Fetch-Site"] = "same-origin"
	delete(hdr, "X-CSRF-Token")
	if r := h.req(t, "POST", "/api/v1/uploads/", "", nil, hdr); r.StatusCode != 201 {
		t.Errorf("same-origin browser request: %d %s", r.StatusCode, bodyOf(r))
	}
	delete(hdr, "Sec-Fetch-Site")
	hdr["X-CSRF-Token"] = "tok123"
	if r := h.req(t, "POST", "/api/v1/uploads/", "", nil, hdr); r.StatusCode != 201 {
		t.Errorf("session with CSRF header: %d %s", r.StatusCode, bodyOf(r))
	}
}

func TestTusFinishesCompleteUploadAfterCrash(t *testing.T) {
	h := newTusHarness(t)
	data := pattern(5000, 9)
	want := localInfoHash(t, map[string][]byte{"crash.bin": data})
	loc := h.create(t, len(data), tusMeta("filename", "crash.bin"))
	// All bytes arrived but the process died before the commit: the data
	// file is complete on disk, with no record.
	id := loc[strings.LastIndex(loc, "/")+1:]
	bin := filepath.Join(h.volume, ".staging", "tus", id)
	if err := os.WriteFile(bin, data, 0o644); err != nil {
		t.Fatal(err)
	}
	head := h.req(t, "HEAD", loc, h.token, nil, nil)
	if head.StatusCode != 200 || head.Header.Get(headerInfoHash) != want {
		t.Fatalf("HEAD of a complete upload: %d %v", head.StatusCode, head.Header)
	}
	if _, err := h.cat.TorrentByInfoHash(context.Background(), want); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseTusID: upload IDs come from request paths; only IDs that
// round-trip are accepted.
func FuzzParseTusID(f *testing.F) {
	f.Add("1-2-s-0123456789abcdef0123456789abcdef")
	f.Add("3-4-f0123456789abcdef-0123456789abcdef0123456789abcdef")
	f.Add("../../etc/passwd")
	f.Add("1-2-s-")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parseTusID(s)
		if err != nil {
			return
		}
		if id.String() != s {
			t.Fatalf("%q parsed as %+v, which prints %q", s, id, id.String())
		}
		if strings.ContainsAny(s, "/\\.") {
			t.Fatalf("accepted %q", s)
		}
	})
}
