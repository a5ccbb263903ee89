package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seedbed/seedbed/internal/testenv"
)

// twoVolumeConfig writes a config with volumes vol-a and vol-b (replicas = 2)
// and returns its path and the two volume folders.
func twoVolumeConfig(t *testing.T, extra string) (string, [2]string) {
	t.Helper()
	dir := t.TempDir()
	vols := [2]string{filepath.Join(dir, "vol-a"), filepath.Join(dir, "vol-b")}
	cfg := fmt.Sprintf(`[seedbox]
replicas = 2
check_interval = "1s"
scrub_rate = "0"
%s
[[seedbox.volumes]]
name = "vol-a"
path = %q
reserve = "1MiB"
scrub_interval = "2s"
[[seedbox.volumes]]
name = "vol-b"
path = %q
reserve = "1MiB"
scrub_interval = "2s"
`, extra, vols[0], vols[1])
	path := filepath.Join(dir, "seedbed.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, vols
}

// torrentState fetches the API's torrent object.
func (n *node) torrentState(token, ih string) torrentObject {
	n.t.Helper()
	b, code := n.get(token, n.url+"/api/v1/torrents/"+ih)
	var obj torrentObject
	if code != 200 || json.Unmarshal(b, &obj) != nil {
		n.t.Fatalf("torrent %s: HTTP %d %s", ih, code, b)
	}
	return obj
}

// replicaStates maps volume name to replica state.
func replicaStates(obj torrentObject) map[string]string {
	m := map[string]string{}
	for _, r := range obj.Replicas {
		m[r.Volume] = r.State
	}
	return m
}

func bothVerified(obj torrentObject) bool {
	s := replicaStates(obj)
	return len(s) == 2 && s["vol-a"] == "verified" && s["vol-b"] == "verified"
}

// contentPath is where a single-file torrent's content lives on a volume.
func contentPath(vol, ih, name string) string {
	return filepath.Join(vol, ih[:2], ih, name)
}

func sameFile(path string, want []byte) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, want)
}

// flipByteKeepTime changes one byte of path without changing its size or
// modification time, the way bit rot would: only a re-hash can notice.
func flipByteKeepTime(t *testing.T, path string, off int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	f.ReadAt(b, off)
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// startSlowAria2 starts aria2c on a .torrent with a download rate cap, so it
// is still running while the test damages replicas; wait returns its log
// (level info: it names every piece that failed its hash check) and error. aria2c writes pieces where they belong without allocating the
// file first, so the file grows from 0 bytes once data arrives.
func startSlowAria2(t *testing.T, torrent []byte, dest, iface, limit string) (wait func() (string, error)) {
	t.Helper()
	bin := testenv.Need(t, "aria2c", "aria2")
	dir := t.TempDir()
	tf, logPath := filepath.Join(dir, "x.torrent"), filepath.Join(dir, "aria2.log")
	os.WriteFile(tf, torrent, 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	cmd := exec.CommandContext(ctx, bin, "--dir="+dest, "--interface="+iface, "--seed-time=0",
		"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--check-integrity=true", "--bt-hash-check-seed=false", "--console-log-level=warn",
		"--summary-interval=0", "--bt-stop-timeout=120", "--allow-overwrite=true", "--auto-file-renaming=false",
		"--file-allocation=none", "--log="+logPath, "--log-level=info", "--max-download-limit="+limit, fmt.Sprintf("--listen-port=%d", freePort(t, iface)), tf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); cancel() }()
	t.Cleanup(func() { cancel() })
	return func() (string, error) {
		err := <-done
		log, _ := os.ReadFile(logPath)
		if err != nil {
			return string(log), fmt.Errorf("aria2c: %w\n%s", err, out.String())
		}
		return string(log), nil
	}
}

// scrubCorrupt reads seedbed_scrub_corrupt_total from the node's metrics.
func scrubCorrupt(t *testing.T, n *node) int {
	t.Helper()
	b, code := n.get("", n.url+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: HTTP %d", code)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "seedbed_scrub_corrupt_total "); ok {
			var c int
			fmt.Sscan(v, &c)
			return c
		}
	}
	t.Fatalf("/metrics has no seedbed_scrub_corrupt_total:\n%s", b)
	return 0
}

// TestHealing runs a node with two volumes and replicas = 2: an upload is
// copied to the second volume; a deleted copy is rebuilt and verified; a
// byte flipped (size and mtime unchanged) in a replica while aria2c
// downloads is found and repaired, and aria2c, checking every piece, never
// receives a bad one; a byte flipped while nothing reads the replicas is
// found by the scrub and repaired.
func TestHealing(t *testing.T) {
	needTool(t, "aria2c", "aria2")
	cfg, vols := twoVolumeConfig(t, "")
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
	token := n.addUser("heidi", false)
	content := randomBytes(24<<20+77, 21)
	obj, code := n.upload(token, map[string][]byte{"heal.bin": content}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	ih := obj.InfoHash
	waitFor(t, 60*time.Second, "two verified replicas", func() bool { return bothVerified(n.torrentState(token, ih)) })
	for _, v := range vols {
		if !sameFile(contentPath(v, ih, "heal.bin"), content) {
			t.Fatalf("replica on %s differs from the upload", v)
		}
	}

	torrent, code := n.get(token, n.url+"/torrents/"+ih+".torrent")
	if code != 200 {
		t.Fatalf(".torrent: %d", code)
	}
	dest := t.TempDir()
	wait := startSlowAria2(t, withoutWebSeeds(t, torrent), dest, "127.0.0.31", "1M")
	waitFor(t, 60*time.Second, "aria2c to receive data", func() bool {
		fi, err := os.Stat(filepath.Join(dest, "heal.bin"))
		return err == nil && fi.Size() > 0
	})

	// Delete vol-a's copy: it is rebuilt and verified.
	if err := os.RemoveAll(filepath.Join(vols[0], ih[:2], ih)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "vol-a's copy rebuilt and verified", func() bool {
		return sameFile(contentPath(vols[0], ih, "heal.bin"), content) && bothVerified(n.torrentState(token, ih))
	})

	// Flip one byte in vol-b's copy while aria2c downloads: the seeder
	// hashes every piece it reads for a peer, so whichever comes first, the
	// seeder reading that piece or the scrub, finds it; the copy is marked
	// corrupt and repaired, and aria2c never receives the bad piece.
	flipByteKeepTime(t, contentPath(vols[1], ih, "heal.bin"), 12<<20+5)
	waitFor(t, 60*time.Second, "vol-b's copy to be repaired", func() bool {
		return sameFile(contentPath(vols[1], ih, "heal.bin"), content) && bothVerified(n.torrentState(token, ih))
	})
	log, err := wait()
	if err != nil {
		n.dumpLog()
		t.Fatal(err)
	}
	if strings.Contains(log, "wrong piece") || strings.Contains(log, "Bad piece hash") {
		n.dumpLog()
		t.Fatal("aria2c received a piece that failed its hash check")
	}
	sameContent(t, dest, map[string][]byte{"heal.bin": content}, false)

	// Nothing downloads now, so only the scrub reads the replicas: a byte
	// flipped in vol-a's copy is found by the scrub, and repaired.
	before := scrubCorrupt(t, n)
	flipByteKeepTime(t, contentPath(vols[0], ih, "heal.bin"), 3<<20+7)
	waitFor(t, 60*time.Second, "the scrub to find and repair vol-a's copy", func() bool {
		return scrubCorrupt(t, n) > before &&
			sameFile(contentPath(vols[0], ih, "heal.bin"), content) && bothVerified(n.torrentState(token, ih))
	})
	if b, _ := os.ReadFile(n.logFile); !strings.Contains(string(b), "scrub found a corrupt replica") {
		n.dumpLog()
		t.Fatal("the scrub did not log the corrupt replica")
	}
}

// TestReplicationSurvivesSIGKILL kills the node in the middle of a replica
// copy: after the restart the half-made replica is not counted as verified,
// and the copy is made again and verified.
func TestReplicationSurvivesSIGKILL(t *testing.T) {
	cfg, vols := twoVolumeConfig(t, `replication_rate = "2MiB"`)
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
	token := n.addUser("ivan", false)
	content := randomBytes(16<<20+3, 22)
	obj, code := n.upload(token, map[string][]byte{"slow.bin": content}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	ih := obj.InfoHash
	var target string
	waitFor(t, 30*time.Second, "a copy in progress", func() bool {
		for v, s := range replicaStates(n.torrentState(token, ih)) {
			if s == "copying" {
				target = v
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // well into the copy (about 8 s at 2 MiB/s)
	n.cmd.Process.Signal(syscall.SIGKILL)
	n.cmd.Wait()

	n.start()
	states := replicaStates(n.torrentState(token, ih))
	if states[target] == "verified" {
		t.Fatalf("after SIGKILL mid-copy the replica on %s counts as verified: %v", target, states)
	}
	// Whatever the API calls verified must verify.
	checkVerified := func() {
		for v, s := range replicaStates(n.torrentState(token, ih)) {
			dir := vols[0]
			if v == "vol-b" {
				dir = vols[1]
			}
			if s == "verified" && !sameFile(contentPath(dir, ih, "slow.bin"), content) {
				t.Fatalf("replica on %s is counted as verified but its content differs", v)
			}
		}
	}
	checkVerified()
	waitFor(t, 60*time.Second, "the copy to be made again and verified", func() bool {
		checkVerified()
		return bothVerified(n.torrentState(token, ih))
	})
	for _, v := range vols {
		if !sameFile(contentPath(v, ih, "slow.bin"), content) {
			t.Fatalf("replica on %s differs", v)
		}
		left, _ := filepath.Glob(filepath.Join(v, ".staging", "replica-*"))
		if len(left) != 0 {
			t.Errorf("staging leftovers on %s: %v", v, left)
		}
	}
}

// TestReplicationBetweenNodes runs two nodes on one PostgreSQL catalog and
// one Redis, one volume each, replicas = 2: an upload to node 1 is fetched
// by node 2 through BitTorrent from node 1's seedbox and counted once node 2
// verified it.
func TestReplicationBetweenNodes(t *testing.T) {
	dsn, redisURL := testenv.Postgres(t), testenv.Redis(t)
	nodeCfg := func(node, vol string) (string, string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "seedbed.toml")
		volPath := filepath.Join(dir, vol)
		cfg := fmt.Sprintf("[seedbox]\nnode = %q\nreplicas = 2\ncheck_interval = \"1s\"\n[[seedbox.volumes]]\nname = %q\npath = %q\nreserve = \"1MiB\"\n", node, vol, volPath)
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return path, volPath
	}
	cfg1, _ := nodeCfg("node-1", "n1-vol")
	cfg2, vol2 := nodeCfg("node-2", "n2-vol")
	n1 := startNode(t, nodeOptions{databaseURL: dsn, extraEnv: []string{"SEEDBED_REDIS_URL=" + redisURL, "SEEDBED_CONFIG=" + cfg1}})
	n2 := startNode(t, nodeOptions{databaseURL: dsn, extraEnv: []string{"SEEDBED_REDIS_URL=" + redisURL, "SEEDBED_CONFIG=" + cfg2}})
	defer func() {
		if t.Failed() {
			n1.dumpLog()
			n2.dumpLog()
		}
	}()
	token := n1.addUser("judy", false)
	content := randomBytes(8<<20+9, 23)
	obj, code := n1.upload(token, map[string][]byte{"far.bin": content}, nil)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	waitFor(t, 90*time.Second, "node 2 to fetch and verify a replica", func() bool {
		s := replicaStates(n1.torrentState(token, obj.InfoHash))
		return s["n1-vol"] == "verified" && s["n2-vol"] == "verified"
	})
	if !sameFile(contentPath(vol2, obj.InfoHash, "far.bin"), content) {
		t.Fatal("node 2's replica differs from the upload")
	}
	if log, _ := os.ReadFile(n2.logFile); !strings.Contains(string(log), "how=fetched") {
		t.Error("node 2's replica was not fetched from the swarm")
	}
	for _, r := range n1.torrentState(token, obj.InfoHash).Replicas {
		if r.Volume == "n2-vol" && r.Node != "node-2" {
			t.Errorf("replica on n2-vol recorded for node %q", r.Node)
		}
	}
}
