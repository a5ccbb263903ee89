package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedbed/seedbed/internal/testenv"
)

// volumesConfig writes a config with the named volumes under a temp dir,
// replicas = len(names) and the scrub practically off (it must not find the
// corruption before the web seed does), and returns it and the volume paths.
func volumesConfig(t *testing.T, names ...string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("[seedbox]\nreplicas = %d\ncheck_interval = \"1s\"\nscrub_rate = \"0\"\n", len(names))
	var paths []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		paths = append(paths, p)
		cfg += fmt.Sprintf("[[seedbox.volumes]]\nname = %q\npath = %q\nreserve = \"1MiB\"\nscrub_interval = \"24h\"\n", n, p)
	}
	path := filepath.Join(dir, "seedbed.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, paths
}

// aria2WebSeedOnly runs aria2c on the .torrent's web seed alone and returns
// its output and exit error; it gives up on a failing web seed within
// seconds.
func aria2WebSeedOnly(t *testing.T, torrent []byte, dest, iface string) (string, error) {
	t.Helper()
	bin := testenv.Need(t, "aria2c", "aria2")
	tf := filepath.Join(t.TempDir(), "x.torrent")
	if err := os.WriteFile(tf, torrent, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--dir="+dest, "--interface="+iface, "--seed-time=0",
		"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--bt-exclude-tracker=*", "--check-integrity=true", "--bt-hash-check-seed=false",
		"--console-log-level=warn", "--summary-interval=0", "--bt-stop-timeout=15",
		"--max-tries=3", "--retry-wait=1", "--allow-overwrite=true", "--auto-file-renaming=false",
		fmt.Sprintf("--listen-port=%d", freePort(t, iface)), tf).CombinedOutput()
	return string(out), err
}

// waitWebSeedPasskey waits until the web seed of the .torrent's url-list
// knows its passkey (it answers 404, not 403, for a file not in the
// torrent): a new user's passkey reaches the node within a second or so.
func waitWebSeedPasskey(t *testing.T, n *node, torrent []byte) {
	t.Helper()
	mi, err := metainfo.Load(bytes.NewReader(torrent))
	if err != nil || len(mi.UrlList) == 0 {
		t.Fatalf("the .torrent has no url-list (%v)", err)
	}
	url := strings.TrimSuffix(mi.UrlList[0], "/") + "/no-such-file"
	waitFor(t, 20*time.Second, "the web seed to know the passkey", func() bool {
		_, code := n.get("", url)
		return code == 404
	})
}

// TestWebSeedServesOnlyVerifiedBytes: a byte flips (bit rot: size and
// modification time unchanged) in the replica the web seed reads first.
// The web seed hashes the pieces of every range before it sends them, so
// aria2c, on the web seed alone, still gets the right data, served from
// the other, healthy replica on the node; the bad replica is marked corrupt
// the way the seeder marks one (and then repaired from the good one).
func TestWebSeedServesOnlyVerifiedBytes(t *testing.T) {
	needTool(t, "aria2c", "aria2")
	cfg, vols := volumesConfig(t, "vol-a", "vol-b")
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
	token := n.addUser("vera", false)
	content := randomBytes(5<<20+17, 51)
	obj, code := n.upload(token, map[string][]byte{"rot.bin": content}, nil)
	if code != 201 {
		t.Fatalf("upload: HTTP %d", code)
	}
	ih := obj.InfoHash
	waitFor(t, 60*time.Second, "both replicas verified", func() bool { return bothVerified(n.torrentState(token, ih)) })
	torrent, code := n.get(token, n.url+"/torrents/"+ih+".torrent")
	if code != 200 {
		t.Fatalf(".torrent: HTTP %d", code)
	}
	waitWebSeedPasskey(t, n, torrent)
	flipByteKeepTime(t, contentPath(vols[0], ih, "rot.bin"), 3<<20+5)

	dest := t.TempDir()
	if out, err := aria2WebSeedOnly(t, torrent, dest, "127.0.0.46"); err != nil {
		n.dumpLog()
		t.Fatalf("aria2c on the web seed: %v\n%s", err, out)
	}
	sameContent(t, dest, map[string][]byte{"rot.bin": content}, false)
	log, _ := os.ReadFile(n.logFile)
	if !strings.Contains(string(log), "web seed: replica failed verification") || !strings.Contains(string(log), "vol-a") {
		n.dumpLog()
		t.Fatal("the web seed did not notice the corrupt replica on vol-a")
	}
	// Marked corrupt, so the replicator repairs it from vol-b.
	waitFor(t, 60*time.Second, "vol-a's copy repaired", func() bool {
		return sameFile(contentPath(vols[0], ih, "rot.bin"), content) && bothVerified(n.torrentState(token, ih))
	})
}

// TestWebSeedRefusesTheOnlyCorruptReplica: with a single replica on the
// node and a byte flipped in it, the web seed sends none of the bad piece:
// aria2c (web seed only) fails cleanly instead of completing, and the
// replica is marked corrupt.
func TestWebSeedRefusesTheOnlyCorruptReplica(t *testing.T) {
	needTool(t, "aria2c", "aria2")
	cfg, vols := volumesConfig(t, "only")
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
	token := n.addUser("rhea", false)
	content := randomBytes(3<<20+9, 52)
	obj, code := n.upload(token, map[string][]byte{"one.bin": content}, nil)
	if code != 201 {
		t.Fatalf("upload: HTTP %d", code)
	}
	ih := obj.InfoHash
	waitFor(t, 60*time.Second, "the replica verified", func() bool {
		return replicaStates(n.torrentState(token, ih))["only"] == "verified"
	})
	torrent, code := n.get(token, n.url+"/torrents/"+ih+".torrent")
	if code != 200 {
		t.Fatalf(".torrent: HTTP %d", code)
	}
	waitWebSeedPasskey(t, n, torrent)
	flipByteKeepTime(t, contentPath(vols[0], ih, "one.bin"), 1<<20+3)

	dest := t.TempDir()
	out, err := aria2WebSeedOnly(t, torrent, dest, "127.0.0.47")
	if err == nil && sameFile(filepath.Join(dest, "one.bin"), content) {
		t.Fatalf("aria2c completed from a replica whose only copy is corrupt (it cannot have come from the web seed)\n%s", out)
	}
	if err == nil {
		t.Fatalf("aria2c reported success with wrong data\n%s", out)
	}
	if strings.Contains(out, "wrong piece") || strings.Contains(out, "Bad piece hash") {
		t.Fatalf("aria2c received a piece that failed its hash check\n%s", out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("aria2c:\n%s", out)
			n.dumpLog()
		}
	})
	waitFor(t, 30*time.Second, "the replica marked corrupt", func() bool {
		return replicaStates(n.torrentState(token, ih))["only"] == "corrupt"
	})
}
