package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedbed/seedbed/internal/testenv"
)

// withoutWebSeeds returns the .torrent with its url-list removed, so a client
// can only get the data from BitTorrent peers (the seedbox).
func withoutWebSeeds(t *testing.T, torrent []byte) []byte {
	t.Helper()
	mi, err := metainfo.Load(bytes.NewReader(torrent))
	if err != nil {
		t.Fatal(err)
	}
	mi.UrlList = nil
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type aria2Options struct {
	iface       string // loopback address the client binds to
	webSeedOnly bool   // ignore the tracker: only the url-list web seed
}

// aria2Download runs aria2c on a .torrent until it completes and exits.
func aria2Download(t *testing.T, torrent []byte, dest string, o aria2Options) {
	t.Helper()
	bin := testenv.Need(t, "aria2c", "aria2")
	tf := filepath.Join(t.TempDir(), "x.torrent")
	os.WriteFile(tf, torrent, 0o644)
	args := []string{
		"--dir=" + dest, "--interface=" + o.iface, "--seed-time=0",
		"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--check-integrity=true", "--bt-hash-check-seed=false", "--console-log-level=warn",
		"--summary-interval=0", "--bt-stop-timeout=120", "--allow-overwrite=true", "--auto-file-renaming=false",
		fmt.Sprintf("--listen-port=%d", freePort(t, o.iface)),
	}
	if o.webSeedOnly {
		args = append(args, "--bt-exclude-tracker=*")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, tf)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aria2c: %v\n%s", err, out)
	}
}

// transmission is a transmission-daemon driven over its JSON-RPC.
type transmission struct {
	t       *testing.T
	rpc     string
	session string
	cmd     *exec.Cmd
}

// startTransmission runs a fresh transmission-daemon bound to iface, with
// DHT, LPD, PEX, uTP and port forwarding off.
func startTransmission(t *testing.T, iface, downloadDir string) *transmission {
	t.Helper()
	bin := testenv.Need(t, "transmission-daemon", "transmission-daemon")
	conf := t.TempDir()
	rpcPort := freePort(t, "127.0.0.1")
	settings := map[string]any{
		"bind-address-ipv4": iface, "bind-address-ipv6": "::1",
		"peer-port": freePort(t, iface), "peer-port-random-on-start": false,
		"dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
		"port-forwarding-enabled": false, "download-dir": downloadDir, "incomplete-dir-enabled": false,
		"rpc-enabled": true, "rpc-bind-address": "127.0.0.1", "rpc-port": rpcPort,
		"rpc-authentication-required": false, "rpc-whitelist-enabled": false, "rpc-host-whitelist-enabled": false,
		"ratio-limit-enabled": false, "speed-limit-up-enabled": false, "speed-limit-down-enabled": false,
		"start-added-torrents": true, "message-level": 2, "encryption": 1,
	}
	b, _ := json.Marshal(settings)
	os.WriteFile(filepath.Join(conf, "settings.json"), b, 0o600)
	cmd := exec.Command(bin, "-f", "-g", conf)
	logf, _ := os.Create(filepath.Join(conf, "daemon.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tr := &transmission{t: t, rpc: fmt.Sprintf("http://127.0.0.1:%d/transmission/rpc", rpcPort), cmd: cmd}
	t.Cleanup(func() {
		tr.call("session-close", nil, nil)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		logf.Close()
	})
	waitFor(t, 20*time.Second, "transmission rpc", func() bool { return tr.call("session-get", nil, nil) == nil })
	return tr
}

func (tr *transmission) call(method string, args any, result any) error {
	body, _ := json.Marshal(map[string]any{"method": method, "arguments": args})
	for range 2 {
		req, _ := http.NewRequest("POST", tr.rpc, bytes.NewReader(body))
		req.Header.Set("X-Transmission-Session-Id", tr.session)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusConflict {
			tr.session = resp.Header.Get("X-Transmission-Session-Id")
			continue
		}
		var r struct {
			Result    string          `json:"result"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("rpc %s: %s", method, b)
		}
		if r.Result != "success" {
			return fmt.Errorf("rpc %s: %s", method, r.Result)
		}
		if result != nil {
			return json.Unmarshal(r.Arguments, result)
		}
		return nil
	}
	return fmt.Errorf("rpc %s: no session id", method)
}

// download adds the .torrent and waits until Transmission has verified all
// of it.
func (tr *transmission) download(torrent []byte, timeout time.Duration) {
	t := tr.t
	t.Helper()
	var added struct {
		Added struct{ ID int } `json:"torrent-added"`
	}
	if err := tr.call("torrent-add", map[string]any{"metainfo": base64.StdEncoding.EncodeToString(torrent)}, &added); err != nil {
		t.Fatal(err)
	}
	var last string
	waitFor(t, timeout, "transmission download", func() bool {
		var got struct {
			Torrents []struct {
				PercentDone    float64 `json:"percentDone"`
				LeftUntilDone  int64   `json:"leftUntilDone"`
				ErrorString    string  `json:"errorString"`
				PeersConnected int     `json:"peersConnected"`
			} `json:"torrents"`
		}
		err := tr.call("torrent-get", map[string]any{"ids": []int{added.Added.ID},
			"fields": []string{"percentDone", "leftUntilDone", "errorString", "peersConnected"}}, &got)
		if err != nil || len(got.Torrents) == 0 {
			return false
		}
		g := got.Torrents[0]
		if s := fmt.Sprintf("%.2f peers=%d err=%q", g.PercentDone, g.PeersConnected, g.ErrorString); s != last {
			t.Logf("transmission: %s", s)
			last = s
		}
		return g.PercentDone >= 1 && g.LeftUntilDone == 0
	})
}
