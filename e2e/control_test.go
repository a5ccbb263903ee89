package e2e

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/seedbed/seedbed/catalog"
)

// announceOnce sends one HTTP announce and returns its failure reason ("" on
// success).
func announceOnce(t *testing.T, base, passkey, infoHashHex string) string {
	t.Helper()
	ih, err := hex.DecodeString(infoHashHex)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"info_hash": {string(ih)}, "peer_id": {"-XX0001-control-test"}, "port": {"6881"},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {"100"}, "compact": {"1"}}
	resp, err := http.Get(base + "/announce/" + passkey + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var reply struct {
		Failure string `bencode:"failure reason"`
	}
	if err := bencode.Unmarshal(body, &reply); err != nil {
		t.Fatalf("announce reply %q: %v", body, err)
	}
	return reply.Failure
}

// TestControlPlaneWithinOneSecond rotates a passkey in the catalog, as the
// portal or another node would: the running tracker refuses the old key and
// accepts the new one within a second, with no restart.
func TestControlPlaneWithinOneSecond(t *testing.T) {
	n := startNode(t, nodeOptions{})
	token := n.addUser("erin", false)
	obj, code := n.upload(token, map[string][]byte{"c.bin": randomBytes(1<<20, 21)}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	ctx := context.Background()
	cat, err := catalog.Open(ctx, catalog.Options{DataDir: filepath.Join(n.dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	u, err := cat.UserByName(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	// The user was created by another process (the CLI): the tracker learns
	// of it from the catalog's change feed, within a second.
	waitFor(t, time.Second, "new user's passkey accepted", func() bool {
		return announceOnce(t, n.url, u.Passkey, obj.InfoHash) == ""
	})
	newKey, err := cat.RotatePasskey(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	rotated := time.Now()
	waitFor(t, 3*time.Second, "old passkey refused", func() bool {
		return strings.Contains(announceOnce(t, n.url, u.Passkey, obj.InfoHash), "passkey")
	})
	if d := time.Since(rotated); d > time.Second+200*time.Millisecond {
		t.Errorf("old passkey still accepted %v after rotation, want within 1 s", d)
	}
	if f := announceOnce(t, n.url, newKey, obj.InfoHash); f != "" {
		t.Errorf("new passkey refused: %q", f)
	}
}

// TestDisabledUserRefusedWithinOneSecond: an admin disables a user in the
// catalog; the running tracker refuses the user's announces within a second
// and accepts them again once the user is enabled.
func TestDisabledUserRefusedWithinOneSecond(t *testing.T) {
	n := startNode(t, nodeOptions{})
	token := n.addUser("frank", false)
	obj, code := n.upload(token, map[string][]byte{"d.bin": randomBytes(1<<16, 22)}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	ctx := context.Background()
	cat := openCatalog(t, n)
	u, err := cat.UserByName(ctx, "frank")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "passkey accepted", func() bool {
		return announceOnce(t, n.url, u.Passkey, obj.InfoHash) == ""
	})
	if err := cat.SetDisabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	disabled := time.Now()
	waitFor(t, 3*time.Second, "disabled user refused", func() bool {
		return strings.Contains(announceOnce(t, n.url, u.Passkey, obj.InfoHash), "disabled")
	})
	if d := time.Since(disabled); d > time.Second+200*time.Millisecond {
		t.Errorf("disabled user still accepted %v later, want within 1 s", d)
	}
	if err := cat.SetDisabled(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "enabled user accepted again", func() bool {
		return announceOnce(t, n.url, u.Passkey, obj.InfoHash) == ""
	})
}
