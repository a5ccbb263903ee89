package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserRegisterSearchRotate is a new student, in a real browser: sign
// up through the registration page (open registration), find a shared file
// through the search box, and get a new passkey on the account page; the
// tracker refuses the old passkey within a second. Then an administrator
// opens the retention plan from the admin page.
func TestBrowserRegisterSearchRotate(t *testing.T) {
	b := newBrowser(t)
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_REGISTRATION=open"}})
	tok := n.addUser("uploader", false)
	obj, code := n.upload(tok, map[string][]byte{"qm-notes.pdf": randomBytes(1<<16, 7)},
		map[string]string{"title": "Quantum mechanics lecture notes", "category": "Lectures"})
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	n.upload(tok, map[string][]byte{"other.bin": randomBytes(1<<15, 8)}, map[string]string{"title": "Organic chemistry lab"})

	// Sign up through the page.
	b.run("fill the registration form", 20*time.Second,
		chromedp.Navigate(n.url+"/register"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password2]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "hana"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "hana@campus.example.edu"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a long enough secret"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password2]`), "a long enough secret"),
	)
	b.screenshot("register")
	b.run("register", 20*time.Second,
		chromedp.Submit(chromedp.CSS(`input[name=password2]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/account/passkey"]`)),
	)
	if loc := get(b, "location", chromedp.Location()); !strings.HasSuffix(loc, "/account?done=welcome") {
		t.Errorf("after sign-up the browser is at %s, want the account page's welcome", loc)
	}

	// Search through the box in the header.
	b.run("search", 20*time.Second,
		chromedp.Navigate(n.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=q]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=q]`), "quantum"),
		chromedp.Submit(chromedp.CSS(`input[name=q]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.list a[href^="/t/"]`)),
	)
	b.screenshot("search")
	rows := get(b, "result rows", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('table.list tbody a[href^="/t/"]')].map(a => a.textContent + ' ' + a.getAttribute('href'))`))
	if len(rows) != 1 || !strings.Contains(rows[0], "Quantum mechanics") || !strings.Contains(rows[0], obj.InfoHash) {
		t.Errorf("search for quantum lists %q, want only the quantum notes", rows)
	}

	// New passkey on the account page: the old one stops working on the tracker.
	b.run("account page", 20*time.Second,
		chromedp.Navigate(n.url+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/account/passkey"] button`)),
	)
	old := passkeyOf(t, b.text(`dl.facts code`))
	waitFor(t, 2*time.Second, "the new account's passkey accepted", func() bool {
		return announceOnce(t, n.url, old, obj.InfoHash) == ""
	})
	b.run("rotate passkey", 20*time.Second,
		chromedp.Click(chromedp.CSS(`form[action="/account/passkey"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	rotated := time.Now()
	waitFor(t, 3*time.Second, "old passkey refused", func() bool {
		return strings.Contains(announceOnce(t, n.url, old, obj.InfoHash), "passkey")
	})
	if d := time.Since(rotated); d > time.Second+200*time.Millisecond {
		t.Errorf("old passkey still accepted %v after rotation, want within 1 s", d)
	}
	b.screenshot("account")
	fresh := passkeyOf(t, b.text(`dl.facts code`))
	if fresh == old {
		t.Fatal("the account page shows the old passkey after rotation")
	}
	waitFor(t, 2*time.Second, "new passkey accepted", func() bool {
		return announceOnce(t, n.url, fresh, obj.InfoHash) == ""
	})

	// Sign out; an administrator reads the retention plan.
	n.addUser("root", true)
	b.run("sign out", 20*time.Second,
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)),
	)
	b.login(n.url, "root", "correct horse battery")
	b.run("retention plan", 20*time.Second,
		chromedp.Navigate(n.url+"/admin"),
		chromedp.Click(chromedp.CSS(`a[href="/admin/retention"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#plan-volumes`)),
	)
	b.screenshot("admin-retention")
	if h2 := b.text(`#purges h2`); !strings.Contains(h2, "to purge") {
		t.Errorf("retention page says %q", h2)
	}
}

// passkeyOf takes the passkey out of an announce URL .../announce/<passkey>.
func passkeyOf(t *testing.T, announce string) string {
	t.Helper()
	u, err := url.Parse(announce)
	pk, ok := strings.CutPrefix(u.Path, "/announce/")
	if err != nil || !ok || pk == "" {
		t.Fatalf("announce URL %q names no passkey", announce)
	}
	return pk
}
