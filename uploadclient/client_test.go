package uploadclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/ingest"
	"github.com/seedbed/seedbed/portal"
	"github.com/seedbed/seedbed/publish"
	"github.com/seedbed/seedbed/seedbox"
)

// server is a real portal on a temp catalog and volume.
type server struct {
	url, token, volume string
	cat                *catalog.Catalog
}

func newServer(t *testing.T) server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	cat, err := catalog.Open(ctx, catalog.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	row, err := cat.UpsertVolume(ctx, catalog.Volume{Name: "v1", Path: filepath.Join(dir, "v1"), Node: "n1", State: "active"})
	if err != nil {
		t.Fatal(err)
	}
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewUnstartedServer(nil)
	app, err := portal.New(portal.Options{
		Catalog: cat, Volumes: vols, Node: "n1",
		Publisher: &publish.Publisher{Catalog: cat, Volumes: vols, Node: "n1", Logger: log},
		PublicURL: "http://" + srv.Listener.Addr().String(), MaxUploadSize: 1 << 30, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = app
	srv.Start()
	t.Cleanup(srv.Close)
	return server{url: srv.URL, token: tok, volume: row.Path, cat: cat}
}

// writeTree writes files (relative path -> content) under dir.
func writeTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// localInfoHash computes with ingest the infohash the server must give.
func localInfoHash(t testing.TB, files map[string][]byte) string {
	t.Helper()
	var total int64
	var paths []string
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

func content(n int, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + seed*17 + i>>8)
	}
	return b
}

func TestUploadFileAndFolder(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	file := map[string][]byte{"talk.mp4": content(200_000, 1)}
	folder := map[string][]byte{"set/a.txt": content(1000, 2), "set/b/c.bin": content(70_000, 3), "set/empty": {}}
	writeTree(t, dir, file)
	writeTree(t, dir, folder)
	c, err := New(Options{Server: s.url, Token: s.token, ChunkSize: 64 << 10, Title: "Mine"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		files map[string][]byte
	}{{"talk.mp4", file}, {"set", folder}} {
		res, err := c.Upload(context.Background(), filepath.Join(dir, tc.path))
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if want := localInfoHash(t, tc.files); res.InfoHash != want || res.Torrent.InfoHash != want {
			t.Errorf("%s: infohash %s, want %s", tc.path, res.InfoHash, want)
		}
		if !strings.Contains(res.Torrent.PageURL, "/t/"+res.InfoHash) || !strings.HasPrefix(res.Torrent.Magnet, "magnet:?") {
			t.Errorf("%s: links %+v", tc.path, res.Torrent)
		}
		if res.Duplicate {
			t.Errorf("%s: duplicate on first upload", tc.path)
		}
	}
	res, err := c.Upload(context.Background(), filepath.Join(dir, "talk.mp4"))
	if err != nil || !res.Duplicate {
		t.Errorf("second upload: %+v %v", res, err)
	}
}

// flaky breaks some PATCH requests half-way through their body.
type flaky struct {
	http.RoundTripper
	breaks atomic.Int32
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch && f.breaks.Add(-1) >= 0 {
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(io.MultiReader(io.LimitReader(r.Body, r.ContentLength/2), errReader{}))
	}
	return f.RoundTripper.RoundTrip(r)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection cut") }

func TestUploadResumesAfterCutsAndRestarts(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	files := map[string][]byte{"big.iso": content(1_000_000, 4)}
	writeTree(t, dir, files)
	want := localInfoHash(t, files)
	statePath := filepath.Join(t.TempDir(), "state.json")

	// First run: stopped (as by Ctrl-C) once half the bytes are sent.
	st, _ := OpenState(statePath)
	ctx, cancel := context.WithCancel(context.Background())
	c1, _ := New(Options{Server: s.url, Token: s.token, ChunkSize: 100_000, State: st,
		Progress: func(sent, total int64) {
			if sent > total/2 {
				cancel()
			}
		}})
	if _, err := c1.Upload(ctx, filepath.Join(dir, "big.iso")); !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}

	// Second run, a new process reading the same state, through cuts.
	st2, _ := OpenState(statePath)
	tr := &flaky{RoundTripper: http.DefaultTransport}
	tr.breaks.Store(3)
	var first atomic.Int64
	first.Store(-1)
	c2, _ := New(Options{Server: s.url, Token: s.token, ChunkSize: 100_000, State: st2, Backoff: time.Millisecond,
		HTTPClient: &http.Client{Transport: tr},
		Progress:   func(sent, total int64) { first.CompareAndSwap(-1, sent) }})
	res, err := c2.Upload(context.Background(), filepath.Join(dir, "big.iso"))
	if err != nil {
		t.Fatal(err)
	}
	if res.InfoHash != want || !res.Resumed {
		t.Errorf("resumed upload: %+v, want %s", res, want)
	}
	if f := first.Load(); f < 500_000 {
		t.Errorf("second run started at byte %d: it restarted instead of resuming", f)
	}
}

func TestServerDownGivesUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"f": []byte("x")})
	c, _ := New(Options{Server: "http://" + addr, Token: "t", Retries: 2, Backoff: time.Millisecond})
	_, err = c.Upload(context.Background(), filepath.Join(dir, "f"))
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 tries") {
		t.Fatalf("err = %v", err)
	}
}

func TestServerRefusalIsNotRetried(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"f": []byte("x")})
	var calls atomic.Int32
	counting := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	c, _ := New(Options{Server: s.url, Token: "sbt_wrong", HTTPClient: &http.Client{Transport: counting}})
	_, err := c.Upload(context.Background(), filepath.Join(dir, "f"))
	var se *Error
	if !errors.As(err, &se) || se.Status != 401 || calls.Load() != 1 {
		t.Fatalf("err = %v after %d requests", err, calls.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Many uploads through one client with two connections: every reply
// travels on a reused keep-alive connection, and each must name exactly
// the content of its own upload.
func TestConcurrentUploadsGetTheirOwnReplies(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	const n = 40
	hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 2, MaxIdleConnsPerHost: 2}}
	c, _ := New(Options{Server: s.url, Token: s.token, HTTPClient: hc, ChunkSize: 8 << 10})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		name := fmt.Sprintf("file-%02d.bin", i)
		files := map[string][]byte{name: content(10_000+i*997, i)}
		writeTree(t, dir, files)
		want := localInfoHash(t, files)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Upload(context.Background(), filepath.Join(dir, name))
			switch {
			case err != nil:
				errs <- fmt.Errorf("%s: %w", name, err)
			case res.InfoHash != want || res.Torrent.InfoHash != want || res.Torrent.Name != name:
				errs <- fmt.Errorf("%s: got %s (%s), want %s", name, res.InfoHash, res.Torrent.Name, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A creation reply lost after the server made the upload (here dropped by
// the transport, as when net/http hands the keep-alive connection to another
// request whose body fails before the reply is read) is retried with the
// same Seedbed-Upload-Key and gets the same upload: none is orphaned.
func TestLostCreationReplyMakesNoSecondUpload(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	files := map[string][]byte{"notes.pdf": content(300_000, 9)}
	writeTree(t, dir, files)
	var lost atomic.Int32
	var keys []string
	var mu sync.Mutex
	losing := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if r.Method != http.MethodPost || err != nil {
			return resp, err
		}
		mu.Lock()
		keys = append(keys, r.Header.Get("Seedbed-Upload-Key"))
		mu.Unlock()
		if resp.StatusCode == http.StatusCreated && lost.Add(1) <= 2 {
			resp.Body.Close()
			return nil, errors.New("reply lost on the way back")
		}
		return resp, nil
	})
	c, _ := New(Options{Server: s.url, Token: s.token, ChunkSize: 64 << 10, Backoff: time.Millisecond,
		HTTPClient: &http.Client{Transport: losing}})
	res, err := c.Upload(context.Background(), filepath.Join(dir, "notes.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if want := localInfoHash(t, files); res.InfoHash != want {
		t.Errorf("info hash %s, want %s", res.InfoHash, want)
	}
	if len(keys) != 3 || keys[0] == "" || keys[1] != keys[0] || keys[2] != keys[0] {
		t.Errorf("creation tries carried keys %q, want one key three times", keys)
	}
	var left []string
	filepath.WalkDir(filepath.Join(s.volume, ".staging"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".done") {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("left in staging: %v", left)
	}
}

// An upload the server refuses for good (here: content an admin deleted) is
// terminated by the client, so nothing of it stays on the server, not even
// its result record.
func TestRefusedUploadIsTerminated(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"banned.bin": content(70_000, 11)})
	c, _ := New(Options{Server: s.url, Token: s.token, ChunkSize: 32 << 10, Backoff: time.Millisecond})
	res, err := c.Upload(context.Background(), filepath.Join(dir, "banned.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cat.SetTorrentState(context.Background(), res.InfoHash, "deleted"); err != nil {
		t.Fatal(err)
	}
	staged := func() []string {
		m, _ := filepath.Glob(filepath.Join(s.volume, ".staging", "tus", "*"))
		return m
	}
	before := len(staged()) // the first upload's result record
	_, err = c.Upload(context.Background(), filepath.Join(dir, "banned.bin"))
	var se *Error
	if !errors.As(err, &se) || se.Status != 410 {
		t.Fatalf("upload of deleted content: %v, want HTTP 410", err)
	}
	if left := staged(); len(left) != before {
		t.Errorf("after the refusal the tus folder holds %v, want only the %d record(s) from before", left, before)
	}
}
