package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// libtorrentSeeder seeds one torrent with python3-libtorrent (Debian),
// bound to iface, with DHT, LSD, UPnP, NAT-PMP and uTP off.
const libtorrentSeeder = `
import sys, time
import libtorrent as lt
tf, save, iface, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ses = lt.session({
    'listen_interfaces': '%s:%d' % (iface, port), 'outgoing_interfaces': iface,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'enable_incoming_utp': False, 'enable_outgoing_utp': False,
    # libtorrent ignores tracker intervals below this (default 300 s), and our
    # test tracker expires silent peers after 70 s.
    'min_announce_interval': 5,
    'alert_mask': lt.alert.category_t.error_notification,
})
h = ses.add_torrent({'ti': lt.torrent_info(tf), 'save_path': save, 'flags': lt.torrent_flags.seed_mode})
deadline = time.time() + 60
while not h.status().is_seeding:
    if time.time() > deadline:
        sys.exit('libtorrent did not start seeding')
    time.sleep(0.1)
h.force_reannounce()
print('seeding', flush=True)
sys.stdin.read()
`

// TestBenchDownload compares aria2c downloading from our seedbox with aria2c
// downloading the same file from python3-libtorrent, on the same machine.
func TestBenchDownload(t *testing.T) {
	needTool(t, "aria2c", "aria2")
	python := libtorrentPython(t)
	size := benchSize()
	n := startNode(t, nodeOptions{})
	alice, bob := n.addUser("alice", false), n.addUser("bob", false)
	src := writeRandomFile(t, t.TempDir(), "payload.bin", size)
	_, body := timedUpload(t, n.url+"/api/v1/torrents", alice, src)
	ih := between(string(body), `"info_hash":"`, `"`)
	torrent, code := n.get(alice, n.url+"/torrents/"+ih+".torrent")
	if code != 200 {
		t.Fatalf(".torrent: %d", code)
	}
	ours := withoutWebSeeds(t, torrent)

	// A second process runs only the tracker on the same catalog: the
	// libtorrent swarm never sees our seedbox.
	trk := startTrackerOnly(t, n)
	bobTorrent, _ := n.get(bob, n.url+"/torrents/"+ih+".torrent")
	theirs := retarget(t, withoutWebSeeds(t, bobTorrent), trk+"/announce/")
	startLibtorrent(t, python, theirs, filepath.Dir(src), "127.0.0.21")
	aliceTheirs := retarget(t, ours, trk+"/announce/")

	var a, b []time.Duration
	for range benchRounds() {
		a = append(a, timedAria2(t, ours, "127.0.0.11"))
		b = append(b, timedAria2(t, aliceTheirs, "127.0.0.12"))
	}
	report(t, "aria2c download", size, map[string]time.Duration{
		"from seedbed seedbox":    median(a),
		"from python3-libtorrent": median(b),
	}, fmt.Sprintf("speed ratio seedbed / libtorrent = %.2f", float64(median(b))/float64(median(a))))
}

func timedAria2(t *testing.T, torrent []byte, iface string) time.Duration {
	dest := t.TempDir()
	start := time.Now()
	aria2Download(t, torrent, dest, aria2Options{iface: iface})
	d := time.Since(start)
	os.RemoveAll(dest)
	return d
}

func between(s, from, to string) string {
	_, after, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(after, to)
	return v
}

// retarget points a .torrent's announce URL at another tracker, keeping the
// passkey.
func retarget(t *testing.T, torrent []byte, announceBase string) []byte {
	mi, err := metainfo.Load(bytes.NewReader(torrent))
	if err != nil {
		t.Fatal(err)
	}
	pk := mi.Announce[strings.LastIndex(mi.Announce, "/")+1:]
	mi.Announce = announceBase + pk
	mi.AnnounceList = [][]string{{mi.Announce}}
	var buf bytes.Buffer
	mi.Write(&buf)
	return buf.Bytes()
}

// startTrackerOnly runs `seedbed tracker` on n's catalog and another port.
func startTrackerOnly(t *testing.T, n *node) string {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	cmd := exec.Command(binary, "tracker")
	cmd.Env = append(append([]string{}, n.env...), "SEEDBED_HTTP_ADDR="+addr, "SEEDBED_PUBLIC_URL=http://"+addr)
	logf, _ := os.Create(filepath.Join(t.TempDir(), "tracker.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	waitFor(t, 30*time.Second, "tracker-only node", func() bool {
		resp, err := http.Get("http://" + addr + "/scrape/x")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return "http://" + addr
}

func startLibtorrent(t *testing.T, python string, torrent []byte, saveDir, iface string) {
	dir := t.TempDir()
	script, tf := filepath.Join(dir, "seed.py"), filepath.Join(dir, "x.torrent")
	os.WriteFile(script, []byte(libtorrentSeeder), 0o644)
	os.WriteFile(tf, torrent, 0o644)
	cmd := exec.Command(python, script, tf, saveDir, iface, fmt.Sprint(freePort(t, iface)))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "seeding" {
		t.Fatalf("libtorrent seeder: %q %v", line, err)
	}
}
