package e2e

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// peerAddr is the seedbox's BitTorrent address from the node's environment.
func (n *node) peerAddr() string {
	for _, kv := range n.env {
		if v, ok := strings.CutPrefix(kv, "SEEDBED_PEER_ADDR="); ok {
			return v
		}
	}
	n.t.Fatal("node has no SEEDBED_PEER_ADDR")
	return ""
}

// webseedRequests counts the successful web seed requests in the node's log
// (it runs with log level debug, which logs every request).
func (n *node) webseedRequests(ih string) int {
	b, _ := os.ReadFile(n.logFile)
	c := 0
	for _, line := range strings.Split(string(b), "\n") {
		// slog quotes a path with spaces: path="/webseed/...".
		if strings.Contains(line, "msg=request") && strings.Contains(line, "/webseed/") &&
			strings.Contains(line, "/"+ih+"/") && (strings.Contains(line, "status=206") || strings.Contains(line, "status=200")) {
			c++
		}
	}
	return c
}

// TestColdDataWebSeedOnly: the uploader is gone (it uploaded over HTTP and
// left), no student seeds, and the seedbox's BitTorrent peer port is really
// closed: the node's data is served by `seedbed portal` alone, with no
// seedbox and no tracker. aria2c, given the .torrent exactly as a student
// gets it, still completes the download of a folder torrent through the
// BEP 19 web seed of its url-list.
func TestColdDataWebSeedOnly(t *testing.T) {
	needTool(t, "aria2c", "aria2")
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_LOG_LEVEL=debug"}})
	token := n.addUser("wendy", false)
	files := map[string][]byte{
		"Cold Pack/a.bin":         randomBytes(6<<20+11, 31),
		"Cold Pack/sub/notes.txt": randomBytes(70_001, 32),
	}
	obj, code := n.upload(token, files, nil)
	if code != 201 {
		t.Fatalf("upload: HTTP %d", code)
	}
	ih := obj.InfoHash
	waitFor(t, 30*time.Second, "a verified replica", func() bool {
		s := replicaStates(n.torrentState(token, ih))
		return len(s) == 1 && s["default"] == "verified"
	})
	torrent, code := n.get(token, n.url+"/torrents/"+ih+".torrent")
	if code != 200 {
		t.Fatalf(".torrent: HTTP %d", code)
	}
	peer := n.peerAddr()
	c, err := net.DialTimeout("tcp", peer, 5*time.Second)
	if err != nil {
		t.Fatalf("the whole node's seedbox does not listen on %s: %v", peer, err)
	}
	c.Close()

	// Only the portal runs now, on the same data, catalog and addresses.
	n.stop()
	n.part = "portal"
	n.start()
	if c, err := net.DialTimeout("tcp", peer, 5*time.Second); err == nil {
		c.Close()
		t.Fatalf("the seedbox peer port %s still accepts connections", peer)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("the seedbox peer port %s: %v, want connection refused", peer, err)
	}
	if got := n.webseedRequests(ih); got != 0 {
		t.Fatalf("%d web seed requests before the download", got)
	}

	dest := t.TempDir()
	aria2Download(t, torrent, dest, aria2Options{iface: "127.0.0.41"})
	sameContent(t, dest, files, false)
	if got := n.webseedRequests(ih); got == 0 {
		n.dumpLog()
		t.Fatal("the download completed but the portal served no web seed request")
	}
}
