package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBackupRestoreSQLite: `seedbed backup FILE` while the node takes
// uploads, then the documented restore (stop, replace seedbed.db and drop
// its -wal/-shm, start): every torrent uploaded before the backup is there,
// with its .torrent, and the node works on.
func TestBackupRestoreSQLite(t *testing.T) {
	n := startNode(t, nodeOptions{})
	token := n.addUser("bea", false)
	before := map[string]string{}
	for i := range 5 {
		obj, code := n.upload(token, map[string][]byte{fmt.Sprintf("b%d.bin", i): retBytes(64<<10, uint64(500+i))}, nil)
		if code != 201 {
			t.Fatalf("upload %d: %d", i, code)
		}
		before[obj.InfoHash] = obj.Name
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { // uploads go on during the backup
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, code := n.upload(token, map[string][]byte{fmt.Sprintf("d%d.bin", i): retBytes(16<<10, uint64(900+i))}, nil); code != 201 {
				t.Errorf("upload during the backup: %d", code)
				return
			}
		}
	})
	backup := filepath.Join(t.TempDir(), "seedbed-backup.db")
	out, err := n.cli("", "backup", backup)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "to restore:") {
		t.Fatalf("backup output: %s", out)
	}
	if _, err := n.cli("", "backup", backup); err == nil {
		t.Fatal("backup overwrote an existing file")
	}

	n.stop()
	db := filepath.Join(n.dir, "data", "seedbed.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	n.start()
	for ih, name := range before {
		body, code := n.get(token, n.url+"/api/v1/torrents/"+ih)
		if code != 200 || !strings.Contains(string(body), name) {
			t.Fatalf("torrent %s after restore: %d %s", ih, code, body)
		}
		if _, code := n.get(token, n.url+"/torrents/"+ih+".torrent"); code != 200 {
			t.Fatalf(".torrent %s after restore: %d", ih, code)
		}
	}
	if _, code := n.upload(token, map[string][]byte{"after.bin": retBytes(32<<10, 77)}, nil); code != 201 {
		t.Fatalf("upload after restore: %d", code)
	}
}
