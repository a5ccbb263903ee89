package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// node is one running `seedbed serve` process (or one part alone).
type node struct {
	t       *testing.T
	dir     string
	url     string
	env     []string
	part    string // the subcommand: serve, tracker, portal or seedbox
	cmd     *exec.Cmd
	logFile string
}

type nodeOptions struct {
	databaseURL string
	extraEnv    []string
	part        string // default "serve"
	ip          string // loopback address the node listens on; default 127.0.0.1
}

// freePort returns a TCP port free on ip right now.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNode runs seedbed serve on free loopback ports in a temp dir.
func startNode(t *testing.T, o nodeOptions) *node {
	t.Helper()
	dir := t.TempDir()
	ip := o.ip
	if ip == "" {
		ip = "127.0.0.1"
	}
	httpAddr := fmt.Sprintf("%s:%d", ip, freePort(t, ip))
	n := &node{t: t, dir: dir, url: "http://" + httpAddr, part: o.part, logFile: filepath.Join(dir, "seedbed.log")}
	if n.part == "" {
		n.part = "serve"
	}
	n.env = append(os.Environ(),
		"SEEDBED_DATA_DIR="+filepath.Join(dir, "data"),
		"SEEDBED_HTTP_ADDR="+httpAddr,
		"SEEDBED_UDP_ADDR=",
		fmt.Sprintf("SEEDBED_PEER_ADDR=%s:%d", ip, freePort(t, ip)),
		"SEEDBED_ANNOUNCE_INTERVAL=5s",
		"SEEDBED_SEEDBOX_INTERVAL=2s",
		"SEEDBED_DATABASE_URL="+o.databaseURL,
	)
	n.env = append(n.env, o.extraEnv...)
	n.start()
	return n
}

func (n *node) start() {
	t := n.t
	log, err := os.OpenFile(n.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(binary, n.part)
	n.cmd.Env, n.cmd.Stdout, n.cmd.Stderr = n.env, log, log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.stop(); log.Close() })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(n.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if n.cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.dumpLog()
	t.Fatalf("seedbed did not become healthy at %s", n.url)
}

func (n *node) stop() {
	if n.cmd == nil || n.cmd.Process == nil || n.cmd.ProcessState != nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		n.cmd.Process.Kill()
		<-done
	}
}

func (n *node) dumpLog() {
	b, _ := os.ReadFile(n.logFile)
	if len(b) > 20000 {
		b = b[len(b)-20000:]
	}
	n.t.Logf("seedbed log:\n%s", b)
}

// cli runs a seedbed subcommand against the node's configuration.
func (n *node) cli(stdin string, args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = n.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("seedbed %s: %w: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// addUser creates a user with the CLI and returns its API token.
func (n *node) addUser(name string, admin bool) string {
	n.t.Helper()
	args := []string{"user", "add", name, "--password-stdin"}
	if admin {
		args = append(args, "--admin")
	}
	out, err := n.cli("correct horse battery\n", args...)
	if err != nil {
		n.t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// torrentObject is the part of the API's torrent object the tests read.
type torrentObject struct {
	InfoHash  string `json:"info_hash"`
	Name      string `json:"name"`
	Size      int64  `json:"size"`
	MD510M    string `json:"md5_10m"`
	PageURL   string `json:"page_url"`
	Magnet    string `json:"magnet"`
	State     string `json:"state"`
	Duplicate bool   `json:"duplicate"`
	Files     []struct {
		Path string `json:"path"`
		Size int64  `json:"size"`
	} `json:"files"`
	Replicas []struct{ Node, Volume, State string } `json:"replicas"`
}

// upload posts files (relative path -> content) as one multipart request.
func (n *node) upload(token string, files map[string][]byte, fields map[string]string) (torrentObject, int) {
	n.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, p))
		h.Set("Content-Type", "application/octet-stream")
		w, _ := mw.CreatePart(h)
		w.Write(files[p])
	}
	mw.Close()
	req, _ := http.NewRequest("POST", n.url+"/api/v1/torrents", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var obj torrentObject
	if resp.StatusCode == 200 || resp.StatusCode == 201 {
		if err := json.Unmarshal(b, &obj); err != nil {
			n.t.Fatalf("upload reply %s: %v", b, err)
		}
	} else {
		n.t.Logf("upload: HTTP %d: %s", resp.StatusCode, b)
	}
	return obj, resp.StatusCode
}

// get fetches a URL with the token and returns the body.
func (n *node) get(token, url string) ([]byte, int) {
	n.t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b, resp.StatusCode
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
