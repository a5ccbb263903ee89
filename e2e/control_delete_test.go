package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// TestDeleteRefusedWithinOneSecond deletes torrents two ways, through the
// API of the running node and straight in the catalog (as another node or
// the CLI would): the tracker refuses announces for each within a second,
// the torrent leaves the list, its page says it was deleted, and the node
// stops seeding it and removes its data from the volume.
func TestDeleteRefusedWithinOneSecond(t *testing.T) {
	n := startNode(t, nodeOptions{})
	owner := n.addUser("dora", false)
	other := n.addUser("olaf", false)
	viaAPI, code := n.upload(owner, map[string][]byte{"api.bin": randomBytes(1<<20, 31)}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	viaCatalog, code := n.upload(owner, map[string][]byte{"cat.bin": randomBytes(1<<20, 32)}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	ctx := context.Background()
	cat, err := catalog.Open(ctx, catalog.Options{DataDir: filepath.Join(n.dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	u, err := cat.UserByName(ctx, "dora")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "passkey accepted", func() bool {
		return announceOnce(t, n.url, u.Passkey, viaAPI.InfoHash) == ""
	})

	if code := apiDelete(t, n, other, viaAPI.InfoHash); code != http.StatusForbidden {
		t.Fatalf("delete by another user: %d, want 403", code)
	}
	if code := apiDelete(t, n, owner, viaAPI.InfoHash); code != http.StatusNoContent {
		t.Fatalf("delete by the uploader: %d, want 204", code)
	}
	refusedWithin(t, n, u.Passkey, viaAPI.InfoHash, time.Now())

	if err := cat.SetTorrentState(ctx, viaCatalog.InfoHash, catalog.StateDeleted); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, n, u.Passkey, viaCatalog.InfoHash, time.Now())

	list, _ := n.get(owner, n.url+"/api/v1/torrents")
	for _, ih := range []string{viaAPI.InfoHash, viaCatalog.InfoHash} {
		if strings.Contains(string(list), ih) {
			t.Errorf("deleted %s still listed", ih)
		}
		if _, code := n.get(owner, n.url+"/t/"+ih); code != http.StatusGone {
			t.Errorf("page of deleted %s: %d, want 410", ih, code)
		}
		dir := seedbox.TorrentDir(filepath.Join(n.dir, "data", "volumes", "default"), ih)
		waitFor(t, 30*time.Second, "data of "+ih+" removed", func() bool {
			_, err := os.Stat(dir)
			return os.IsNotExist(err)
		})
		tor, err := cat.TorrentByInfoHash(ctx, ih)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "replica row of "+ih+" removed", func() bool {
			reps, err := cat.ReplicasOf(ctx, tor.ID)
			return err == nil && len(reps) == 0
		})
	}
}

// refusedWithin checks the tracker refuses the torrent within a second of
// since.
func refusedWithin(t *testing.T, n *node, passkey, ih string, since time.Time) {
	t.Helper()
	waitFor(t, 3*time.Second, "deleted torrent refused", func() bool {
		return strings.Contains(announceOnce(t, n.url, passkey, ih), "not registered")
	})
	if d := time.Since(since); d > time.Second+200*time.Millisecond {
		t.Errorf("deleted torrent %s still announced %v after the delete, want within 1 s", ih, d)
	}
}

func apiDelete(t *testing.T, n *node, token, ih string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, n.url+"/api/v1/torrents/"+ih, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
