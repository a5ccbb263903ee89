package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// libtorrentLeecher downloads one torrent with python3-libtorrent (Debian),
// bound to iface, with DHT, LSD, UPnP, NAT-PMP and uTP off, until it has all
// of it and the tracker has answered twice (event=started, then
// event=completed). libtorrent 2.0 sends a udp:// tracker URL's path and
// query as BEP 41 URL data, which is how our UDP tracker gets the passkey.
const libtorrentLeecher = `
import sys, time
import libtorrent as lt
tf, save, iface, port, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
ses = lt.session({
    'listen_interfaces': '%s:%d' % (iface, port), 'outgoing_interfaces': iface,
    'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'enable_incoming_utp': False, 'enable_outgoing_utp': False, 'stop_tracker_timeout': 1,
    'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.tracker_notification,
})
h = ses.add_torrent({'ti': lt.torrent_info(tf), 'save_path': save})
deadline, replies = time.time() + timeout, 0
while not (h.status().is_seeding and replies >= 2):
    for a in ses.pop_alerts():
        if isinstance(a, lt.tracker_reply_alert):
            replies += 1
            print('tracker reply: %d peers from %s' % (a.num_peers, a.tracker_url()), flush=True)
        elif isinstance(a, (lt.tracker_error_alert, lt.tracker_warning_alert)):
            print('tracker problem: %s' % a.message(), flush=True)
    if time.time() > deadline:
        s = h.status()
        sys.exit('timed out: %s, %d of %d bytes, %d peers, %d tracker replies'
                 % (s.state, s.total_wanted_done, s.total_wanted, s.num_peers, replies))
    time.sleep(0.05)
print('complete', flush=True)
`

// TestUDPTrackerDownload downloads a file with python3-libtorrent from a
// node whose only tracker is its UDP tracker (BEP 15), the passkey carried
// as BEP 41 URL data, and no web seed: the data can only come from the
// seedbox that the UDP tracker introduced.
func TestUDPTrackerDownload(t *testing.T) {
	python := libtorrentPython(t)
	udpAddr := fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t, "127.0.0.1"))
	// startNode sets SEEDBED_UDP_ADDR= (off); os/exec keeps the last value
	// of a duplicated variable, so this one wins.
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_UDP_ADDR=" + udpAddr}})
	defer func() {
		if t.Failed() {
			n.dumpLog()
		}
	}()
	alice := n.addUser("alice", false)
	files := map[string][]byte{"lecture.bin": randomBytes(8<<20, 15)}
	obj, code := n.upload(alice, files, nil)
	if code != 201 {
		t.Fatalf("upload: HTTP %d", code)
	}
	torrent, code := n.get(alice, n.url+"/torrents/"+obj.InfoHash+".torrent")
	if code != 200 {
		t.Fatalf(".torrent: HTTP %d", code)
	}
	torrent = retarget(t, withoutWebSeeds(t, torrent), "udp://"+udpAddr+"/announce/")
	waitFor(t, 20*time.Second, "the seedbox in the swarm", func() bool { return swarmOf(n, alice, obj.InfoHash).Seeders >= 1 })

	dest := t.TempDir()
	runLeecher(t, python, torrent, dest, "127.0.0.31", 25*time.Second)
	sameContent(t, dest, files, false)
	// The leecher's event=completed went through the UDP tracker's shared
	// announce logic (passkey, swarm, snatch).
	if got := swarmOf(n, alice, obj.InfoHash).Completed; got != 1 {
		t.Errorf("completed = %d after the UDP download, want 1", got)
	}
}

// TestUDPAddressTaken: a node whose UDP tracker address is taken does not
// start, and says why.
func TestUDPAddressTaken(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve")
	cmd.Env = append(os.Environ(),
		"SEEDBED_DATA_DIR="+filepath.Join(dir, "data"),
		fmt.Sprintf("SEEDBED_HTTP_ADDR=127.0.0.1:%d", freePort(t, "127.0.0.1")),
		fmt.Sprintf("SEEDBED_PEER_ADDR=127.0.0.1:%d", freePort(t, "127.0.0.1")),
		"SEEDBED_UDP_ADDR="+pc.LocalAddr().String(),
		"SEEDBED_DATABASE_URL=",
	)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("seedbed serve: %v, want exit status 1\n%s", err, out)
	}
	if want := "udp tracker: listen on " + pc.LocalAddr().String(); !strings.Contains(string(out), want) {
		t.Errorf("output does not say %q:\n%s", want, out)
	}
}

type swarmCountsObject struct{ Seeders, Leechers, Completed int }

// swarmOf returns the live swarm counts of a torrent from the API.
func swarmOf(n *node, token, ih string) swarmCountsObject {
	n.t.Helper()
	body, code := n.get(token, n.url+"/api/v1/torrents/"+ih)
	var c swarmCountsObject
	if code != 200 || json.Unmarshal(body, &c) != nil {
		n.t.Fatalf("torrent %s: HTTP %d: %s", ih, code, body)
	}
	return c
}

// runLeecher runs the libtorrent leecher script until it has the torrent.
func runLeecher(t *testing.T, python string, torrent []byte, saveDir, iface string, timeout time.Duration) {
	t.Helper()
	dir := t.TempDir()
	script, tf := filepath.Join(dir, "leech.py"), filepath.Join(dir, "x.torrent")
	if err := os.WriteFile(script, []byte(libtorrentLeecher), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tf, torrent, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, tf, saveDir, iface,
		fmt.Sprint(freePort(t, iface)), fmt.Sprint(timeout.Seconds()))
	out, err := cmd.CombinedOutput()
	t.Logf("libtorrent leecher:\n%s", out)
	if err != nil {
		t.Fatalf("libtorrent leecher: %v", err)
	}
}

// freeUDPPort returns a UDP port free on ip right now.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}
