package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestRestartKeepsSeeding stops a node and starts it again: the seedbox
// verifies its stored torrents and serves them as before.
func TestRestartKeepsSeeding(t *testing.T) {
	needTool(t, "aria2c", "aria2")
	n := startNode(t, nodeOptions{})
	token := n.addUser("carol", false)
	files := map[string][]byte{"kept.bin": randomBytes(9<<20+5, 11)}
	obj, code := n.upload(token, files, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	n.stop()
	n.start()
	// The first-admin hint is printed once: on the first start, with no
	// accounts, and not after one exists.
	log, _ := os.ReadFile(n.logFile)
	if c := strings.Count(string(log), "user add NAME --admin"); c != 1 {
		t.Errorf("first-admin hint printed %d times over two starts, want 1", c)
	}
	torrent, code := n.get(token, n.url+"/torrents/"+obj.InfoHash+".torrent")
	if code != 200 {
		t.Fatalf(".torrent after restart: %d", code)
	}
	dest := t.TempDir()
	aria2Download(t, withoutWebSeeds(t, torrent), dest, aria2Options{iface: "127.0.0.14"})
	sameContent(t, dest, files, false)
}
