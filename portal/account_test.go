package portal

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

func TestRegistrationModes(t *testing.T) {
	h := newHarness(t)
	anon := func() *browser { return h.anon(t) }
	form := func(name, email, invite string) url.Values {
		return url.Values{"name": {name}, "email": {email}, "invite": {invite},
			"password": {"long enough pw"}, "password2": {"long enough pw"}}
	}
	b := anon()
	if code, _ := b.get("/register"); code != 403 {
		t.Errorf("GET /register while closed: %d, want 403", code)
	}
	if code, _ := b.post("/login", "/register", form("carol", "", "")); code != 403 {
		t.Errorf("POST /register while closed: %d, want 403", code)
	}

	h.app.opts.Registration = regOpen
	if code, body := b.get("/"); code != 200 || !strings.Contains(body, `href="/register"`) {
		t.Error("no sign-up link while registration is open")
	}
	if code, _ := b.post("", "/register", form("carol", "", "")); code != 403 {
		t.Errorf("sign-up without CSRF token: %d, want 403", code)
	}
	if code, loc := b.post("/register", "/register", form("carol", "carol@example.org", "")); code != 303 || loc != "/account?done=welcome" {
		t.Fatalf("open sign-up: %d %s", code, loc)
	}
	if code, body := b.get("/account"); code != 200 || !strings.Contains(body, "carol@example.org") {
		t.Errorf("new account page: %d", code)
	}
	b = anon()
	if code, body := b.post("/register", "/register", form("CAROL", "", "")); code != 409 || !strings.Contains(body, "taken") {
		t.Errorf("taken name: %d", code)
	}
	if code, _ := b.post("/register", "/register", url.Values{"name": {"dave"}, "password": {"long enough pw"}, "password2": {"other one!"}}); code != 400 {
		t.Errorf("differing passwords: %d, want 400", code)
	}
	if code, body := b.post("/register", "/register", form("d", "", "")); code != 400 || !strings.Contains(body, "name") {
		t.Errorf("bad name: %d", code)
	}

	h.app.opts.Registration, h.app.opts.RegistrationDomains = regDomains, []string{"campus.example.edu"}
	if code, _ := b.post("/register", "/register", form("erin", "erin@gmail.example", "")); code != 403 {
		t.Errorf("email outside the domains: %d, want 403", code)
	}
	if code, _ := b.post("/register", "/register", form("erin", "erin@evilcampus.example.edu", "")); code != 403 {
		t.Errorf("look-alike domain: %d, want 403", code)
	}
	if code, _ := b.post("/register", "/register", form("erin", "erin@cs.campus.example.edu", "")); code != 303 {
		t.Errorf("email of a subdomain: %d, want 303", code)
	}

	h.app.opts.Registration = regInvite
	h.addUser(t, "root", catalog.RoleAdmin)
	admin := h.signIn(t, "root")
	_, body := admin.post("/account", "/account/invites", url.Values{})
	m := regexp.MustCompile(`inv_[A-Za-z0-9_-]+`).FindString(body)
	if m == "" {
		t.Fatalf("no invitation code shown:\n%s", body)
	}
	alice := h.signIn(t, "alice")
	if code, _ := alice.post("/account", "/account/invites", url.Values{}); code != 403 {
		t.Errorf("a user creating an invite: %d, want 403", code)
	}
	b = anon()
	if code, _ := b.post("/register", "/register", form("fred", "", "")); code != 403 {
		t.Errorf("sign-up without a code: %d, want 403", code)
	}
	if code, _ := b.post("/register", "/register", form("fred", "", "inv_wrong")); code != 403 {
		t.Errorf("wrong code: %d, want 403", code)
	}
	if code, _ := b.post("/register", "/register", form("fred", "", m)); code != 303 {
		t.Fatalf("sign-up with the code: %d", code)
	}
	b = anon()
	if code, _ := b.post("/register", "/register", form("gina", "", m)); code != 403 {
		t.Errorf("reused code: %d, want 403", code)
	}
	if _, err := h.cat.UserByName(context.Background(), "gina"); err == nil {
		t.Error("a refused sign-up left a user behind")
	}
}

func TestLoginRateLimit(t *testing.T) {
	h := newHarness(t)
	b := h.anon(t)
	for i := range loginFailsPerName {
		if code, _ := b.post("/login", "/login", url.Values{"name": {"alice"}, "password": {"wrong"}}); code != 401 {
			t.Fatalf("failure %d: %d, want 401", i, code)
		}
	}
	code, body := b.post("/login", "/login", url.Values{"name": {"ALICE"}, "password": {"correct horse"}})
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-in attempts. Wait 15 minutes") {
		t.Fatalf("sign-in after %d failures: %d, want 429 with a clear message", loginFailsPerName, code)
	}
	h.addUser(t, "bob", catalog.RoleUser)
	if code, _ := b.post("/login", "/login", url.Values{"name": {"bob"}, "password": {"correct horse"}}); code != 303 {
		t.Errorf("another name from the same address: %d, want 303", code)
	}

	l := newLoginLimiter(time.Minute, 3, 100)
	clock := time.Unix(1000, 0)
	l.now = func() time.Time { return clock }
	for i := range 3 {
		l.Fail("10.0.0.1", "user"+string(rune('a'+i)))
	}
	if _, blocked := l.Blocked("10.0.0.1", "zed"); !blocked {
		t.Error("per-address limit not applied")
	}
	if _, blocked := l.Blocked("10.0.0.2", "zed"); blocked {
		t.Error("another address blocked")
	}
	clock = clock.Add(time.Minute)
	if _, blocked := l.Blocked("10.0.0.1", "zed"); blocked {
		t.Error("still blocked after the window")
	}
}

func TestAccountPasswordPasskeyTokens(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b := h.signIn(t, "alice")
	other := h.signIn(t, "alice") // a second browser
	if code, _ := b.post("/account", "/account/password", url.Values{"current": {"nope"}, "password": {"brand new pw"}, "password2": {"brand new pw"}}); code != 401 {
		t.Errorf("wrong current password: %d, want 401", code)
	}
	if code, _ := b.post("", "/account/password", url.Values{"current": {"correct horse"}, "password": {"brand new pw"}, "password2": {"brand new pw"}}); code != 403 {
		t.Errorf("password change without CSRF: %d, want 403", code)
	}
	if code, loc := b.post("/account", "/account/password", url.Values{"current": {"correct horse"}, "password": {"brand new pw"}, "password2": {"brand new pw"}}); code != 303 || loc != "/account?done=password" {
		t.Fatalf("password change: %d %s", code, loc)
	}
	if _, err := h.cat.Authenticate(ctx, "alice", "correct horse"); err == nil {
		t.Error("old password still works")
	}
	if code, _ := b.get("/account"); code != 200 {
		t.Errorf("this browser signed out after its own password change: %d", code)
	}
	if code, _ := other.get("/account"); code != 303 {
		t.Errorf("other browser still signed in after the password change: %d, want 303", code)
	}

	before, _ := h.cat.UserByName(ctx, "alice")
	if code, loc := b.post("/account", "/account/passkey", url.Values{}); code != 303 || loc != "/account?done=passkey" {
		t.Fatalf("passkey rotation: %d %s", code, loc)
	}
	after, _ := h.cat.UserByName(ctx, "alice")
	if after.Passkey == before.Passkey {
		t.Fatal("passkey unchanged")
	}
	if _, body := b.get("/account"); !strings.Contains(body, after.Passkey) || strings.Contains(body, before.Passkey) {
		t.Error("account page does not show the new announce URL")
	}

	_, body := b.post("/account", "/account/tokens", url.Values{"label": {"<b>rss</b>"}})
	tok := regexp.MustCompile(`sbt_[A-Za-z0-9_-]{43}`).FindString(body)
	if tok == "" || !strings.Contains(body, "&lt;b&gt;rss&lt;/b&gt;") {
		t.Fatalf("new token not shown, or its label not escaped")
	}
	if resp, _ := h.do(t, "GET", "/api/v1/torrents", tok, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("new token refused: %d", resp.StatusCode)
	}
	toks, _ := h.cat.Tokens(ctx, after.ID)
	var id string
	for _, tk := range toks {
		if tk.Label == "<b>rss</b>" {
			id = itoa(tk.ID)
		}
	}
	h.addUser(t, "bob", catalog.RoleUser)
	bobB := h.signIn(t, "bob")
	if code, _ := bobB.post("/account", "/account/tokens/"+id+"/revoke", url.Values{}); code != 404 {
		t.Errorf("revoking another user's token: %d, want 404", code)
	}
	if code, loc := b.post("/account", "/account/tokens/"+id+"/revoke", url.Values{}); code != 303 || loc != "/account?done=revoked" {
		t.Fatalf("revoke: %d %s", code, loc)
	}
	if resp, _ := h.do(t, "GET", "/api/v1/torrents", tok, nil, nil); resp.StatusCode != 401 {
		t.Errorf("revoked token: %d, want 401", resp.StatusCode)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestSessionCookieFlags(t *testing.T) {
	h := newHarness(t)
	h.app.secure = true // as with public_url = https://...
	b := h.anon(t)
	form := url.Values{"name": {"alice"}, "password": {"correct horse"}, "_csrf": {b.csrf("/login")}}
	resp, err := b.c.PostForm(h.srv.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name != sessionCookie {
			continue
		}
		found = true
		if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie flags: HttpOnly=%v Secure=%v SameSite=%v", ck.HttpOnly, ck.Secure, ck.SameSite)
		}
	}
	if !found {
		t.Fatal("no session cookie set")
	}
	app, err := New(Options{Catalog: h.cat, PublicURL: "https://seedbed.campus.example"})
	if err != nil {
		t.Fatal(err)
	}
	if !app.secure {
		t.Error("https public URL does not make cookies Secure")
	}
}
