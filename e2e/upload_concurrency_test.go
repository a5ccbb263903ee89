package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedbed/seedbed/uploadclient"
)

// 200 simultaneous uploads, half multipart and half tus, all through one
// HTTP client with few connections (replies travel on reused keep-alive
// connections); a fifth are cut mid-way and retried. Every final reply must
// name exactly its own content; nothing staged may stay behind; every
// torrent row must have its complete data.
//
// The shared client makes lost replies real: net/http's Transport puts a
// connection back in its pool before handing the last reply on it to its
// caller, so a cut multipart request that takes that connection at once can
// break it and lose the reply (once in about two runs under load, a tus
// creation's). Creations therefore carry Seedbed-Upload-Key, and a retried
// one gets the upload its first try made.
func TestUploadConcurrency(t *testing.T) {
	n := startNode(t, nodeOptions{})
	tok := n.addUser("dana", false)
	dir := t.TempDir()
	hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 8, MaxIdleConnsPerHost: 8}}

	const total = 200
	type job struct {
		name string
		data []byte
		want string
		tus  bool
		cut  bool
	}
	jobs := make([]job, total)
	for i := range jobs {
		name := fmt.Sprintf("c%03d.bin", i)
		data := filler(4<<10+i*1531, i+100)
		jobs[i] = job{name: name, data: data, tus: i%2 == 0, cut: i%5 == 1,
			want: localInfoHash(t, map[string][]byte{name: data})}
		writeFiles(t, dir, map[string][]byte{name: data})
	}
	cuts := 0
	for _, j := range jobs {
		if j.cut {
			cuts++
		}
	}
	if cuts != total/5 {
		t.Fatalf("%d cut uploads, want %d", cuts, total/5)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ih, name string
			var err error
			if j.tus {
				ih, name, err = tusJob(ctx, hc, n.url, tok, filepath.Join(dir, j.name), j.cut)
			} else {
				ih, name, err = multipartJob(ctx, hc, n.url, tok, j.name, j.data, j.cut)
			}
			switch {
			case err != nil:
				errs <- fmt.Errorf("%s (tus %v, cut %v): %w", j.name, j.tus, j.cut, err)
			case ih != j.want || name != j.name:
				errs <- fmt.Errorf("%s: reply names %s (%s), want %s", j.name, ih, name, j.want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		n.dumpLog()
		return
	}

	vol := filepath.Join(n.dir, "data", "volumes", "default")
	filepath.WalkDir(filepath.Join(vol, ".staging"), func(p string, d os.DirEntry, err error) error {
		if err == nil && p != filepath.Join(vol, ".staging") && !(d.IsDir() && filepath.Base(p) == "tus") && !strings.HasSuffix(p, ".done") {
			size := int64(-1)
			if fi, err := d.Info(); err == nil {
				size = fi.Size()
			}
			info, _ := os.ReadFile(strings.TrimSuffix(p, ".info") + ".info") // what the upload was
			t.Errorf("left in staging: %s (%d bytes): %s", p, size, info)
		}
		return nil
	})
	if t.Failed() {
		n.dumpLog()
	}
	checkEveryRowHasData(t, n, tok, vol, total)
}

// tusJob uploads one file with the upload client; a cut job is stopped
// half-way (its context cancelled) and resumed by a second call.
func tusJob(ctx context.Context, hc *http.Client, url, tok, path string, cut bool) (string, string, error) {
	state := uploadclient.MemoryState()
	opts := uploadclient.Options{Server: url, Token: tok, HTTPClient: hc, ChunkSize: 4 << 10, State: state,
		Backoff: 50 * time.Millisecond}
	if cut {
		cctx, stop := context.WithCancel(ctx)
		o := opts
		// Progress counts bytes as they are written: cut only once a later
		// chunk is on its way, so the server surely holds the first one
		// (every cut file has at least two chunks).
		o.Progress = func(sent, total int64) {
			if sent > opts.ChunkSize && sent > total/2 {
				stop()
			}
		}
		c, err := uploadclient.New(o)
		if err != nil {
			return "", "", err
		}
		if _, err := c.Upload(cctx, path); !errors.Is(err, context.Canceled) {
			return "", "", fmt.Errorf("cut upload ended with %v", err)
		}
	}
	c, err := uploadclient.New(opts)
	if err != nil {
		return "", "", err
	}
	res, err := c.Upload(ctx, path)
	if err != nil {
		return "", "", err
	}
	if cut && !res.Resumed {
		return "", "", errors.New("the cut upload restarted instead of resuming")
	}
	return res.InfoHash, res.Torrent.Name, nil
}

// multipartJob posts one file; a cut job first sends half the body and
// breaks the connection, then posts again.
func multipartJob(ctx context.Context, hc *http.Client, url, tok, name string, data []byte, cut bool) (string, string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", name)
	w.Write(data)
	mw.Close()
	post := func(r io.Reader) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/api/v1/torrents", r)
		req.ContentLength = int64(body.Len())
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+tok)
		return hc.Do(req)
	}
	if cut {
		half := io.MultiReader(bytes.NewReader(body.Bytes()[:body.Len()/2]), failingReader{})
		if resp, err := post(half); err == nil {
			resp.Body.Close()
			return "", "", fmt.Errorf("a cut request got HTTP %d", resp.StatusCode)
		}
	}
	resp, err := post(bytes.NewReader(body.Bytes()))
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var obj torrentObject
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil || resp.StatusCode != 201 {
		return "", "", fmt.Errorf("HTTP %d: %v", resp.StatusCode, err)
	}
	return obj.InfoHash, obj.Name, nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection cut by the test") }

// checkEveryRowHasData lists every torrent through the API and checks its
// files are complete on the volume.
func checkEveryRowHasData(t *testing.T, n *node, tok, vol string, want int) {
	t.Helper()
	seen := 0
	for page := 1; ; page++ {
		b, code := n.get(tok, fmt.Sprintf("%s/api/v1/torrents?page=%d", n.url, page))
		var list struct {
			Torrents []torrentObject `json:"torrents"`
			Total    int             `json:"total"`
		}
		if code != 200 || json.Unmarshal(b, &list) != nil {
			t.Fatalf("list page %d: %d %s", page, code, b)
		}
		if list.Total != want {
			t.Fatalf("catalog holds %d torrents, want %d", list.Total, want)
		}
		for _, tor := range list.Torrents {
			seen++
			for _, f := range tor.Files {
				p := filepath.Join(vol, tor.InfoHash[:2], tor.InfoHash, tor.Name)
				if len(tor.Files) > 1 {
					p = filepath.Join(p, filepath.FromSlash(f.Path))
				}
				fi, err := os.Stat(p)
				if err != nil || fi.Size() != f.Size {
					t.Errorf("%s: %s: %v (size %v, want %d)", tor.InfoHash, f.Path, err, fi, f.Size)
				}
			}
		}
		if len(list.Torrents) == 0 || seen >= want {
			break
		}
	}
	if seen != want {
		t.Errorf("listed %d torrents, want %d", seen, want)
	}
}
