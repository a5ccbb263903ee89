package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/seedbed/seedbed/internal/testenv"
)

// browser is a headless Debian chromium with a fresh profile, driven over
// the DevTools protocol.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts chromium for one test; it is stopped when the test
// ends. Every action gets at most timeout.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := testenv.Need(t, "chromium", "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// run performs actions, failing the test with what after timeout.
func (b *browser) run(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.screenshot("failed-" + what)
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// get runs one action that returns a value, failing the test on error.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.screenshot("failed-" + what)
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// text returns the visible text of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(get(b, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// screenshot saves the page as a PNG test artifact under
// $SEEDBED_ARTIFACTS (default: e2e/artifacts/screenshots).
func (b *browser) screenshot(name string) {
	dir := os.Getenv("SEEDBED_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// login signs in through the login form and waits for the page after it.
func (b *browser) login(base, name, password string) {
	b.t.Helper()
	b.run("sign in", 20*time.Second,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`input[name=password]`)),
	)
}

// watchProgress records every text the upload page's progress line shows
// into sessionStorage, which survives the navigation to the torrent page.
const watchProgress = `(() => {
  const stats = document.getElementById('stats');
  sessionStorage.setItem('progress', '');
  new MutationObserver(() => sessionStorage.setItem('progress',
    sessionStorage.getItem('progress') + '|' + stats.textContent))
    .observe(stats, {childList: true, characterData: true, subtree: true});
  return true;
})()`

// uploadInBrowser picks files on the upload page, submits, and waits for
// the torrent page. It returns the page's path and the progress texts seen.
func (b *browser) uploadInBrowser(base string, paths ...string) (page string, progress string) {
	b.t.Helper()
	b.run("upload", 2*time.Minute,
		chromedp.Navigate(base+"/upload"),
		chromedp.WaitReady(chromedp.CSS(`#pick-files`)),
		chromedp.Evaluate[chromedp.Void](watchProgress),
		chromedp.SetUploadFiles(chromedp.CSS(`#pick-files`), paths),
		chromedp.WaitEnabled(chromedp.CSS(`#send`)),
		chromedp.Click(chromedp.CSS(`#send`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href$=".torrent"]`)),
	)
	page = get(b, "location", chromedp.Location())
	progress = get(b, "progress", chromedp.Evaluate[string](`sessionStorage.getItem('progress') || ''`))
	return page, progress
}

// fetchInPage downloads url with the page's cookies and returns the first
// bytes of the body as text.
func (b *browser) fetchInPage(url string) string {
	b.t.Helper()
	js := `fetch(` + jsString(url) + `).then(r => r.arrayBuffer()).then(b =>
		String.fromCharCode(...new Uint8Array(b.slice(0, 64))))`
	return get(b, "fetch "+url, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowserUploadAndShare is a student's first visit, in a real browser:
// sign in, upload a file while the progress bar moves, land on the seed
// link, download the .torrent, and get the "already shared" message when
// uploading the same content again.
func TestBrowserUploadAndShare(t *testing.T) {
	b := newBrowser(t)
	n := startNode(t, nodeOptions{})
	n.addUser("grace", false)
	dir := t.TempDir()
	file := filepath.Join(dir, "Lecture 7.mkv")
	if err := os.WriteFile(file, randomBytes(24<<20, 41), 0o644); err != nil {
		t.Fatal(err)
	}
	b.login(n.url, "grace", "correct horse battery")
	b.screenshot("home")

	page, progress := b.uploadInBrowser(n.url, file)
	b.screenshot("torrent")
	if !strings.Contains(page, "/t/") {
		t.Fatalf("after upload the browser is at %s, want the torrent page", page)
	}
	if !strings.Contains(progress, "%") || !strings.Contains(progress, "seed link") {
		t.Errorf("progress line showed %q, want percentages and the final step", progress)
	}
	if h1 := b.text("h1"); !strings.Contains(h1, "Lecture 7") {
		t.Errorf("torrent page title %q", h1)
	}
	href := get(b, "torrent link", chromedp.AttributeValue(chromedp.CSS(`a[href$=".torrent"]`), "href")).Value
	if head := b.fetchInPage(href); !strings.HasPrefix(head, "d8:announce") {
		t.Errorf(".torrent from the page starts %q, want a bencoded dictionary with announce", head)
	}

	again, _ := b.uploadInBrowser(n.url, file)
	b.screenshot("already-shared")
	if again != page+"?duplicate=1" && !strings.HasPrefix(again, page) {
		t.Errorf("second upload landed on %s, want %s", again, page)
	}
	if flash := b.text(".flash"); !strings.Contains(flash, "Already shared") {
		t.Errorf("second upload says %q, want the already-shared message", flash)
	}
	b.run("user page", 20*time.Second, chromedp.Navigate(n.url+"/u/grace"), chromedp.WaitVisible(chromedp.CSS("h1")))
	b.screenshot("user")
}
