package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// cutProxy stands between the browser and the node: it slows PATCH bodies
// down to rate bytes/s, breaks the connection of the first PATCH after
// cutAt bytes, and records what the browser sent.
type cutProxy struct {
	target *url.URL
	rp     *httputil.ReverseProxy
	rate   int64
	cutAt  int64

	mu      sync.Mutex
	cut     bool
	posts   int
	offsets []int64 // Upload-Offset of every PATCH
	bytes   int64   // PATCH body bytes forwarded
}

func newCutProxy(t *testing.T, target string, rate, cutAt int64) (*cutProxy, string) {
	u, _ := url.Parse(target)
	p := &cutProxy{target: u, rp: httputil.NewSingleHostReverseProxy(u), rate: rate, cutAt: cutAt}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *cutProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/v1/uploads") {
		p.mu.Lock()
		switch r.Method {
		case http.MethodPost:
			p.posts++
		case http.MethodPatch:
			off, _ := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
			p.offsets = append(p.offsets, off)
		}
		p.mu.Unlock()
		if r.Method == http.MethodPatch {
			p.patch(w, r)
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

func (p *cutProxy) stats() (posts int, offsets []int64, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.posts, append([]int64(nil), p.offsets...), p.bytes
}

// patch forwards a PATCH with a throttled body; a cut aborts the browser's
// connection mid-body.
func (p *cutProxy) patch(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	pr, pw := io.Pipe()
	out := r.Clone(ctx)
	out.URL.Scheme, out.URL.Host, out.RequestURI, out.Body = p.target.Scheme, p.target.Host, "", pr
	type reply struct {
		resp *http.Response
		err  error
	}
	done := make(chan reply, 1)
	go func() {
		resp, err := http.DefaultTransport.RoundTrip(out)
		done <- reply{resp, err}
	}()
	buf := make([]byte, 32<<10)
	start, sent := time.Now(), int64(0)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			if _, werr := pw.Write(buf[:n]); werr != nil {
				break
			}
			sent += int64(n)
			p.mu.Lock()
			p.bytes += int64(n)
			cutNow := !p.cut && p.bytes >= p.cutAt
			p.cut = p.cut || cutNow
			p.mu.Unlock()
			if cutNow {
				pw.CloseWithError(errors.New("cut by the test"))
				cancel()
				<-done
				panic(http.ErrAbortHandler) // drops the browser's connection
			}
			if d := time.Duration(float64(sent)/float64(p.rate)*float64(time.Second)) - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
		if err != nil {
			pw.CloseWithError(err)
			break
		}
	}
	rep := <-done
	if rep.err != nil {
		panic(http.ErrAbortHandler)
	}
	defer rep.resp.Body.Close()
	for k, v := range rep.resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(rep.resp.StatusCode)
	io.Copy(w, rep.resp.Body)
}

// A browser upload survives a dropped connection and a page reload by
// resuming: one upload is created, later PATCHes start where the server
// stopped, and the torrent is the content's own.
func TestBrowserUploadResumesAfterCutAndReload(t *testing.T) {
	b := newBrowser(t)
	n := startNode(t, nodeOptions{})
	n.addUser("heidi", false)
	const size = 12 << 20
	data := filler(size, 77)
	want := localInfoHash(t, map[string][]byte{"Recording.webm": data})
	file := filepath.Join(t.TempDir(), "Recording.webm")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	proxy, base := newCutProxy(t, n.url, 3<<20, 2<<20)
	b.login(base, "heidi", "correct horse battery")

	pick := func() {
		b.run("start upload", 30*time.Second,
			chromedp.Navigate(base+"/upload"),
			chromedp.WaitReady(chromedp.CSS(`#pick-files`)),
			chromedp.SetUploadFiles(chromedp.CSS(`#pick-files`), []string{file}),
			chromedp.WaitEnabled(chromedp.CSS(`#send`)),
			chromedp.Click(chromedp.CSS(`#send`)),
		)
	}
	pick()
	// The cut happens at 2 MiB; wait until the resumed upload is past
	// half, then reload the page and choose the file again.
	waitFor(t, 60*time.Second, "the upload to resume past half", func() bool {
		_, _, sent := proxy.stats()
		return sent > size/2
	})
	b.screenshot("upload-progress")
	pick()
	b.run("finish upload", 90*time.Second, chromedp.WaitVisible(chromedp.CSS(`a[href$=".torrent"]`)))
	b.screenshot("upload-resumed")

	page := get(b, "location", chromedp.Location())
	if !strings.Contains(page, "/t/"+want) {
		t.Errorf("landed on %s, want the page of %s", page, want)
	}
	posts, offsets, sent := proxy.stats()
	resumed := 0
	for _, o := range offsets {
		if o > 0 {
			resumed++
		}
	}
	if posts != 1 || resumed < 2 {
		t.Errorf("%d uploads created, PATCH offsets %v: want one upload resumed after the cut and after the reload", posts, offsets)
	}
	if sent > size+size/2 {
		t.Errorf("%d bytes sent for a %d-byte file: the upload restarted", sent, size)
	}
}
