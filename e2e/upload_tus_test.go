package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedbed/seedbed/ingest"
)

// localInfoHash computes with ingest the infohash Seedbed must give files
// (relative path -> content).
func localInfoHash(t testing.TB, files map[string][]byte) string {
	t.Helper()
	var total int64
	var paths []string
	for p, b := range files {
		paths = append(paths, p)
		total += int64(len(b))
	}
	sort.Strings(paths)
	up, err := ingest.NewUpload(filepath.Join(t.TempDir(), "x"), total)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Abort()
	for _, p := range paths {
		if _, err := up.AddFile(p, bytes.NewReader(files[p])); err != nil {
			t.Fatal(err)
		}
	}
	res, err := up.Finish("")
	if err != nil {
		t.Fatal(err)
	}
	return res.InfoHash.HexString()
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func filler(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + seed*101 + i>>10)
	}
	return b
}

// uploadCmd is `seedbed upload` against the node, with its own state file.
func (n *node) uploadCmd(token, state string, args ...string) *exec.Cmd {
	all := append([]string{"upload", "--server", n.url, "--token", token, "--state", state}, args...)
	cmd := exec.Command(binary, all...)
	cmd.Env = n.env
	return cmd
}

var pageRE = regexp.MustCompile(`(?m)^page: (\S+)/t/([0-9a-f]{40})$`)

// pagesIn returns the infohashes of the page links the CLI printed, and
// checks each has its magnet.
func pagesIn(t *testing.T, n *node, out string) []string {
	t.Helper()
	var ihs []string
	for _, m := range pageRE.FindAllStringSubmatch(out, -1) {
		if m[1] != n.url {
			t.Errorf("page link on %s, want %s", m[1], n.url)
		}
		ihs = append(ihs, m[2])
		if !strings.Contains(out, "magnet: magnet:?xt=urn:btih:"+m[2]) {
			t.Errorf("no magnet for %s in:\n%s", m[2], out)
		}
	}
	return ihs
}

func (n *node) tusDir() string {
	return filepath.Join(n.dir, "data", "volumes", "default", ".staging", "tus")
}

// partialBytes is how many bytes of unfinished uploads the node holds.
func (n *node) partialBytes() int64 {
	var sum int64
	entries, _ := os.ReadDir(n.tusDir())
	for _, e := range entries {
		if !strings.Contains(e.Name(), ".") {
			if fi, err := e.Info(); err == nil {
				sum += fi.Size()
			}
		}
	}
	return sum
}

func TestUploadCLIFileAndFolder(t *testing.T) {
	n := startNode(t, nodeOptions{})
	tok := n.addUser("alice", false)
	dir := t.TempDir()
	file := map[string][]byte{"lecture.mp4": filler(700_000, 1)}
	folder := map[string][]byte{"labs/lab1.pdf": filler(90_000, 2), "labs/data/set.csv": filler(33_333, 3), "labs/README": []byte("read me\n")}
	writeFiles(t, dir, file)
	writeFiles(t, dir, folder)
	state := filepath.Join(t.TempDir(), "state.json")

	out, err := n.uploadCmd(tok, state, "--title", "Week 1", filepath.Join(dir, "lecture.mp4"), filepath.Join(dir, "labs")).Output()
	if err != nil {
		n.dumpLog()
		t.Fatalf("seedbed upload: %v\n%s", err, out)
	}
	got := pagesIn(t, n, string(out))
	want := []string{localInfoHash(t, file), localInfoHash(t, folder)}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("uploaded %v, want %v; output:\n%s", got, want, out)
	}
	body, code := n.get(tok, n.url+"/api/v1/torrents/"+want[1])
	if code != 200 || !strings.Contains(string(body), `"Week 1"`) {
		t.Errorf("folder torrent: %d %s", code, body)
	}
	if left := n.partialBytes(); left != 0 {
		t.Errorf("%d bytes of partial uploads left behind", left)
	}
}

// tusUpload sends data in one PATCH and returns the completing reply.
func tusUpload(t *testing.T, n *node, tok, name string, data []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", n.url+"/api/v1/uploads/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(len(data)))
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte(name)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return resp
	}
	_ = b
	req, _ = http.NewRequest("PATCH", resp.Header.Get("Location"), bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Offset", "0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestUploadTusHeadersAndQuota(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "seedbed.toml")
	if err := os.WriteFile(cfg, []byte("[portal]\ndefault_quota = \"300KiB\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
	tok := n.addUser("bob", false)
	data := filler(100_000, 7)
	want := localInfoHash(t, map[string][]byte{"notes.bin": data})
	for i, dup := range []string{"false", "true"} {
		resp := tusUpload(t, n, tok, "notes.bin", data)
		if resp.StatusCode != 204 || resp.Header.Get("Seedbed-Info-Hash") != want || resp.Header.Get("Seedbed-Duplicate") != dup {
			t.Errorf("upload %d: %d %v", i+1, resp.StatusCode, resp.Header)
		}
	}

	// 100 KiB used of 300 KiB: a 250 KiB file is refused before its bytes.
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"big.bin": filler(250<<10, 8)})
	var stderr bytes.Buffer
	cmd := n.uploadCmd(tok, filepath.Join(t.TempDir(), "s.json"), filepath.Join(dir, "big.bin"))
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "quota") {
		t.Errorf("over quota: %v, stderr %q", err, stderr.String())
	}
	if left := n.partialBytes(); left != 0 {
		t.Errorf("a refused upload left %d bytes", left)
	}
}

func TestUploadCLIResumesAfterKillAndRestart(t *testing.T) {
	n := startNode(t, nodeOptions{})
	tok := n.addUser("carol", false)
	dir := t.TempDir()
	files := map[string][]byte{"disk.img": filler(3<<20, 9)}
	writeFiles(t, dir, files)
	want := localInfoHash(t, files)
	state := filepath.Join(t.TempDir(), "state.json")
	path := filepath.Join(dir, "disk.img")

	// Killed mid-way.
	slow := n.uploadCmd(tok, state, "--limit-rate", "1MiB", "--chunk-size", "256KiB", path)
	if err := slow.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "some bytes to arrive", func() bool { return n.partialBytes() > 0 })
	slow.Process.Kill()
	slow.Wait()
	cut := n.partialBytes()
	if cut <= 0 || cut >= int64(len(files["disk.img"])) {
		t.Fatalf("after the kill the server holds %d bytes", cut)
	}

	// Resumed by a new run, while the server restarts under it.
	var out, stderr bytes.Buffer
	again := n.uploadCmd(tok, state, "--limit-rate", "1MiB", "--chunk-size", "256KiB", "--retries", "10", path)
	again.Stdout, again.Stderr = &out, &stderr
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the resumed upload to progress", func() bool { return n.partialBytes() > cut })
	n.stop()
	n.start()
	if err := again.Wait(); err != nil {
		n.dumpLog()
		t.Fatalf("resumed upload: %v\n%s%s", err, out.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "resumed") {
		t.Errorf("the second run did not resume: %s", stderr.String())
	}
	if got := pagesIn(t, n, out.String()); len(got) != 1 || got[0] != want {
		t.Fatalf("uploaded %v, want %s:\n%s", got, want, out.String())
	}
}

func TestUploadCLIGivesUpWhenServerIsDown(t *testing.T) {
	port := freePort(t, "127.0.0.1")
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"f.txt": []byte("hello")})
	cmd := exec.Command(binary, "upload", "--server", fmt.Sprintf("http://127.0.0.1:%d", port), "--token", "t",
		"--retries", "2", "--state", filepath.Join(dir, "s.json"), filepath.Join(dir, "f.txt"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "gave up after 3 tries") {
		t.Fatalf("server down: %v, stderr %q", err, stderr.String())
	}
}
