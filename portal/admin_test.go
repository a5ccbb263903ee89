package portal

import (
	"context"
	"encoding/hex"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/tracker"
)

func TestAdminPages(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	code, obj, raw := h.upload(t, map[string]string{"x.txt": "some content"}, map[string]string{"title": "Admin <i>test</i>"})
	if code != 201 {
		t.Fatalf("upload: %d %s", code, raw)
	}
	// A real tracker with one announce, for the tracker section.
	access := tracker.NewAccess()
	access.PutUser(h.user.Passkey, tracker.User{ID: h.user.ID})
	tor, _ := h.cat.TorrentByInfoHash(ctx, obj.InfoHash)
	var ih [20]byte
	hex.Decode(ih[:], []byte(obj.InfoHash))
	access.Allow(ih, tor.ID)
	tr := tracker.New(tracker.Options{}, access, tracker.NewMemoryStore(1), nil)
	q := url.Values{"info_hash": {string(ih[:])}, "peer_id": {"-XX0001-admin-test-1"}, "port": {"6881"},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {"0"}, "compact": {"1"}}
	rec := httptest.NewRecorder()
	tr.ServeHTTP(rec, httptest.NewRequest("GET", "/announce/"+h.user.Passkey+"?"+q.Encode(), nil))
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "failure") {
		t.Fatalf("announce: %d %s", rec.Code, rec.Body)
	}
	h.app.opts.Metrics = tr.MetricsHandler()

	if code, loc := h.anon(t).get("/admin"); code != 303 || !strings.Contains(loc, "") {
		t.Errorf("anonymous /admin: %d, want a redirect to sign in", code)
	}
	alice := h.signIn(t, "alice")
	if code, _ := alice.get("/admin"); code != 403 {
		t.Errorf("a user's /admin: %d, want 403", code)
	}
	bob, _ := h.addUser(t, "bob", catalog.RoleUser)
	h.addUser(t, "root", catalog.RoleAdmin)
	root := h.signIn(t, "root")
	code, page := root.get("/admin")
	if code != 200 {
		t.Fatalf("admin page: %d", code)
	}
	for _, want := range []string{"/u/alice", "/u/bob", "v1", "1 seeding", "<svg", "Admin &lt;i&gt;test&lt;/i&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page lacks %q", want)
		}
	}
	if strings.Contains(page, "seedbox.") {
		t.Error("admin page lists system users")
	}
	id := strconv.FormatUint(bob.ID, 10)
	if c, _ := alice.post("/", "/admin/users/"+id+"/role", url.Values{"role": {"admin"}}); c != 403 {
		t.Errorf("a user setting roles: %d, want 403", c)
	}
	if c, _ := root.post("", "/admin/users/"+id+"/role", url.Values{"role": {"moderator"}}); c != 403 {
		t.Errorf("role change without CSRF: %d, want 403", c)
	}
	if c, _ := root.post("/admin", "/admin/users/"+id+"/role", url.Values{"role": {"moderator"}}); c != 303 {
		t.Errorf("role change: %d", c)
	}
	if c, _ := root.post("/admin", "/admin/users/"+id+"/role", url.Values{"role": {"king"}}); c != 400 {
		t.Errorf("bad role: %d, want 400", c)
	}
	if c, _ := root.post("/admin", "/admin/users/"+id+"/quota", url.Values{"quota": {"2GiB"}}); c != 303 {
		t.Errorf("quota: %d", c)
	}
	if c, _ := root.post("/admin", "/admin/users/"+id+"/quota", url.Values{"quota": {"lots"}}); c != 400 {
		t.Errorf("bad quota: %d, want 400", c)
	}
	bobB := h.signIn(t, "bob")
	if c, _ := root.post("/admin", "/admin/users/"+id+"/disabled", url.Values{"disabled": {"1"}}); c != 303 {
		t.Errorf("disable: %d", c)
	}
	u, _ := h.cat.UserByID(ctx, bob.ID)
	use, _ := h.cat.Usage(ctx, bob.ID)
	if u.Role != catalog.RoleModerator || !u.Disabled || use.UserQuota == nil || *use.UserQuota != 2<<30 {
		t.Errorf("after admin changes: role %s disabled %v quota %v", u.Role, u.Disabled, use.UserQuota)
	}
	if c, _ := bobB.get("/account"); c != 303 {
		t.Errorf("disabled user still signed in: %d", c)
	}
	rootUser, _ := h.cat.UserByName(ctx, "root")
	if c, _ := root.post("/admin", "/admin/users/"+strconv.FormatUint(rootUser.ID, 10)+"/role", url.Values{"role": {"user"}}); c != 400 {
		t.Errorf("admin demoting themselves: %d, want 400", c)
	}
}

func TestUserPage(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	code, obj, raw := h.upload(t, map[string]string{"y.txt": strings.Repeat("y", 1000)}, map[string]string{"title": "Seeded thing"})
	if code != 201 {
		t.Fatalf("upload: %d %s", code, raw)
	}
	tor, _ := h.cat.TorrentByInfoHash(ctx, obj.InfoHash)
	if err := h.cat.ApplyStats(ctx, []catalog.StatDelta{{UserID: h.user.ID, TorrentID: tor.ID, Uploaded: 5000, Completed: true}}); err != nil {
		t.Fatal(err)
	}
	q := int64(4000)
	if err := h.cat.SetUserQuota(ctx, h.user.ID, &q); err != nil {
		t.Fatal(err)
	}
	_, page := h.signIn(t, "alice").get("/u/alice")
	for _, want := range []string{"Seeding and leeching now", "Seeded thing</a></td><td>seeding</td>", `aria-valuenow="25"`, "/t/" + obj.InfoHash} {
		if !strings.Contains(page, want) {
			t.Errorf("own user page lacks %q", want)
		}
	}
	h.addUser(t, "bob", catalog.RoleUser)
	_, page = h.signIn(t, "bob").get("/u/alice")
	if strings.Contains(page, "aria-valuenow") {
		t.Error("another user sees alice's quota")
	}
	if !strings.Contains(page, "Seeded thing") {
		t.Error("upload history missing")
	}
}
