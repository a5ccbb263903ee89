package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestBenchSeedboxUploadRate downloads the same file with aria2c (peers
// only) from a seedbox with seedbox.upload_rate = 8MiB and from one without a
// cap, in the same run, and reports both rates: the effect of the limiter,
// measured, not asserted (it is a timing). 64 MiB under `make bench`, 16 MiB
// under `make test`.
func TestBenchSeedboxUploadRate(t *testing.T) {
	needTool(t, "aria2c", "aria2")
	const limit = 8 << 20
	size := int64(16 << 20)
	if os.Getenv("SEEDBED_BENCH") == "1" {
		size = 64 << 20
	}
	content := randomBytes(int(size), 41)
	for i, rate := range []int64{limit, 0} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "seedbed.toml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[seedbox]\nupload_rate = \"%d\"\n", rate)), 0o644); err != nil {
			t.Fatal(err)
		}
		n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
		token := n.addUser("uma", false)
		obj, code := n.upload(token, map[string][]byte{"capped.bin": content}, nil)
		if code != 201 {
			t.Fatalf("upload: HTTP %d", code)
		}
		torrent, code := n.get(token, n.url+"/torrents/"+obj.InfoHash+".torrent")
		if code != 200 {
			t.Fatalf(".torrent: HTTP %d", code)
		}
		dest := t.TempDir()
		start := time.Now()
		aria2Download(t, withoutWebSeeds(t, torrent), dest, aria2Options{iface: fmt.Sprintf("127.0.0.%d", 42+i)})
		took := time.Since(start)
		sameContent(t, dest, map[string][]byte{"capped.bin": content}, false)
		n.stop()
		t.Logf("upload_rate %d MiB/s (0: unlimited): aria2c got %d MiB in %v = %.1f MiB/s (aria2c start-up included)",
			rate>>20, size>>20, took.Round(time.Millisecond), float64(size)/took.Seconds()/(1<<20))
	}
}
