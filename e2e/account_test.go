package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// TestPasskeyRotationFromAccountPage signs in to the real binary with a
// browser's cookies, rotates the passkey on the account page, and checks the
// tracker refuses the old passkey within a second and takes the new one.
func TestPasskeyRotationFromAccountPage(t *testing.T) {
	n := startNode(t, nodeOptions{})
	token := n.addUser("rita", false)
	obj, code := n.upload(token, map[string][]byte{"r.bin": randomBytes(1<<16, 41)}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	ctx := context.Background()
	cat, err := catalog.Open(ctx, catalog.Options{DataDir: filepath.Join(n.dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	u, err := cat.UserByName(ctx, "rita")
	if err != nil {
		t.Fatal(err)
	}
	old := u.Passkey
	waitFor(t, 2*time.Second, "passkey accepted", func() bool { return announceOnce(t, n.url, old, obj.InfoHash) == "" })

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	post := func(page, path string, form url.Values) (int, string) {
		resp, err := c.Get(n.url + page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrf.FindSubmatch(body)
		if m == nil {
			t.Fatalf("no form token on %s (%d)", page, resp.StatusCode)
		}
		form.Set("_csrf", string(m[1]))
		resp, err = c.PostForm(n.url+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	if code, _ := post("/login", "/login", url.Values{"name": {"rita"}, "password": {"correct horse battery"}}); code != 303 {
		t.Fatalf("sign in: %d", code)
	}
	code, loc := post("/account", "/account/passkey", url.Values{})
	rotated := time.Now()
	if code != 303 || loc != "/account?done=passkey" {
		t.Fatalf("rotate: %d %s", code, loc)
	}
	waitFor(t, 3*time.Second, "old passkey refused", func() bool {
		return strings.Contains(announceOnce(t, n.url, old, obj.InfoHash), "passkey")
	})
	if d := time.Since(rotated); d > time.Second+200*time.Millisecond {
		t.Errorf("old passkey still accepted %v after rotation, want within 1 s", d)
	}
	u, _ = cat.UserByName(ctx, "rita")
	if u.Passkey == old {
		t.Fatal("passkey unchanged")
	}
	waitFor(t, 2*time.Second, "new passkey accepted", func() bool { return announceOnce(t, n.url, u.Passkey, obj.InfoHash) == "" })
}
