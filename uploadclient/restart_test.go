package uploadclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// When the server answers that an upload in progress is lost (410 with
// Seedbed-Upload-Restart, as a node does when the node holding the upload
// is down), the file or the whole folder starts over and completes.
func TestLostUploadStartsOver(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string][]byte
	}{
		{"file", map[string][]byte{"one.bin": content(200_000, 1)}},
		{"folder", map[string][]byte{"f/a.bin": content(90_000, 2), "f/b/c.bin": content(120_000, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			target, _ := url.Parse(s.url)
			proxy := httputil.NewSingleHostReverseProxy(target)
			var lost, creations atomic.Int32
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					creations.Add(1)
				}
				// The second PATCH of the run finds its upload lost.
				if r.Method == http.MethodPatch && r.Header.Get("Upload-Offset") != "0" && lost.Add(1) == 1 {
					w.Header().Set("Seedbed-Upload-Restart", "true")
					w.Header().Set("Tus-Resumable", "1.0.0")
					http.Error(w, `{"error":"the node holding this upload is offline (node-1): start the upload over"}`, http.StatusGone)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			defer front.Close()
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			c, err := New(Options{Server: front.URL, Token: s.token, ChunkSize: 32 << 10, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "one.bin")
			if tc.name == "folder" {
				path = filepath.Join(dir, "f")
			}
			res, err := c.Upload(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if ih := localInfoHash(t, tc.files); res.InfoHash != ih {
				t.Errorf("infohash %s, want %s", res.InfoHash, ih)
			}
			if lost.Load() == 0 {
				t.Fatal("no PATCH was answered 410: the test did not cut anything")
			}
			// The cut hits the first file: it is created twice, the others once.
			if n := int(creations.Load()); n != len(tc.files)+1 {
				t.Errorf("%d creations, want %d", n, len(tc.files)+1)
			}
		})
	}
}
