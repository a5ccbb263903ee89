package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// tusCall sends one tus request with the token and returns the reply (its
// body read into the second value).
func tusCall(t *testing.T, method, u, tok string, body []byte, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Tus-Resumable", "1.0.0")
	if method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/offset+octet-stream")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func tusMetadata(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

// tusCreate creates an upload through base and returns its Location.
func tusCreate(t *testing.T, base, tok string, size int, meta string) string {
	t.Helper()
	resp, body := tusCall(t, "POST", base+"/api/v1/uploads/", tok, nil,
		map[string]string{"Upload-Length": strconv.Itoa(size), "Upload-Metadata": meta})
	if resp.StatusCode != 201 {
		t.Fatalf("create through %s: HTTP %d %s", base, resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// tusPatch sends data[from:to] of an upload through base; the reply must
// be 204 with the new offset.
func tusPatch(t *testing.T, base, path, tok string, data []byte, from, to int) *http.Response {
	t.Helper()
	resp, body := tusCall(t, "PATCH", base+path, tok, data[from:to], map[string]string{"Upload-Offset": strconv.Itoa(from)})
	if resp.StatusCode != 204 || resp.Header.Get("Upload-Offset") != strconv.Itoa(to) {
		t.Fatalf("PATCH %d-%d through %s: HTTP %d, offset %q: %s", from, to, base, resp.StatusCode, resp.Header.Get("Upload-Offset"), body)
	}
	return resp
}

// uploadPath is the path of a Location, which must be on base's host.
func uploadPath(t *testing.T, loc, base string) string {
	t.Helper()
	if !strings.HasPrefix(loc, base+"/api/v1/uploads/") {
		t.Fatalf("Location %q is not on %s, the host the client used", loc, base)
	}
	return strings.TrimPrefix(loc, base)
}

// torrentsNamed counts the torrents the API lists under a name.
func torrentsNamed(t *testing.T, n *node, tok, name string) int {
	t.Helper()
	b, code := n.get(tok, n.url+"/api/v1/torrents")
	if code != 200 {
		t.Fatalf("list torrents: HTTP %d %s", code, b)
	}
	var list struct {
		Torrents []torrentObject `json:"torrents"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("list %s: %v", b, err)
	}
	count := 0
	for _, o := range list.Torrents {
		if o.Name == name {
			count++
		}
	}
	return count
}

// checkTorrent checks the torrent ih through node n: its name, size and
// MD5 of the first 10 MiB, and that it is listed once.
func checkTorrent(t *testing.T, n *node, tok, ih, name string, data []byte) {
	t.Helper()
	obj := n.torrentState(tok, ih)
	sum := md5.Sum(data[:min(len(data), 10<<20)])
	if obj.InfoHash != ih || obj.Name != name || obj.Size != int64(len(data)) || obj.MD510M != hex.EncodeToString(sum[:]) {
		t.Fatalf("torrent %+v, want %s %q of %d bytes, md5_10m %x", obj, ih, name, len(data), sum)
	}
	if k := torrentsNamed(t, n, tok, name); k != 1 {
		t.Fatalf("%d torrents named %q, want exactly 1", k, name)
	}
}

// An upload created on node 1 goes on through any node: half its bytes
// through node 1, the rest through nodes 2 and 3 in turn (they forward to
// node 1), with HEAD through any of them; it becomes exactly one torrent.
// The files of a folder created through different nodes gather on the node
// of the first, and every Location names the host the client used.
func TestTusResumeAcrossNodes(t *testing.T) {
	c := startCluster(t, clusterOptions{nodes: 3, replicas: 1})
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	tok := n1.addUser("roaming", false)
	bases := []string{n1.url, n2.url, n3.url}

	data := filler(6<<20+123, 41)
	loc := tusCreate(t, n1.url, tok, len(data), tusMetadata("filename", "roaming.bin"))
	path := uploadPath(t, loc, n1.url)
	const chunk = 256 << 10
	half := len(data) / 2
	for off := 0; off < half; off += chunk {
		tusPatch(t, n1.url, path, tok, data, off, min(off+chunk, half))
	}
	var last *http.Response
	for i, off := 0, half; off < len(data); i, off = i+1, off+chunk {
		base := bases[1+i%2]
		if i%3 == 1 { // HEAD through the other one sees the same offset
			other := bases[2-i%2]
			resp, body := tusCall(t, "HEAD", other+path, tok, nil, nil)
			if resp.StatusCode != 200 || resp.Header.Get("Upload-Offset") != strconv.Itoa(off) ||
				resp.Header.Get("Upload-Length") != strconv.Itoa(len(data)) {
				t.Fatalf("HEAD through %s: HTTP %d offset %q length %q %s", other, resp.StatusCode,
					resp.Header.Get("Upload-Offset"), resp.Header.Get("Upload-Length"), body)
			}
		}
		last = tusPatch(t, base, path, tok, data, off, min(off+chunk, len(data)))
	}
	want := localInfoHash(t, map[string][]byte{"roaming.bin": data})
	if got := last.Header.Get("Seedbed-Info-Hash"); got != want || last.Header.Get("Seedbed-Duplicate") != "false" {
		t.Fatalf("final PATCH names %q (duplicate %q), want %s", got, last.Header.Get("Seedbed-Duplicate"), want)
	}
	for _, base := range bases { // the result, from any node
		resp, _ := tusCall(t, "HEAD", base+path, tok, nil, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Seedbed-Info-Hash") != want {
			t.Errorf("HEAD of the finished upload through %s: HTTP %d %q", base, resp.StatusCode, resp.Header.Get("Seedbed-Info-Hash"))
		}
	}
	checkTorrent(t, n3, tok, want, "roaming.bin", data)
	for i, vol := range c.volumes {
		if i > 0 && !emptyTusDir(filepath.Join(vol, ".staging", "tus")) {
			t.Errorf("node %d holds upload files, but the upload lived on node 1", i+1)
		}
	}

	// A folder: its first file is created through node 2, its second
	// through node 3 (forwarded to node 2), both sent through node 1.
	folder := map[string][]byte{"set/a.bin": filler(300_000, 42), "set/b.bin": filler(200_000, 43)}
	meta := func(name string) string {
		return tusMetadata("filename", name, "folder", "fold-1", "folder_files", "2")
	}
	locA := tusCreate(t, n2.url, tok, len(folder["set/a.bin"]), meta("set/a.bin"))
	locB := tusCreate(t, n3.url, tok, len(folder["set/b.bin"]), meta("set/b.bin"))
	pathA, pathB := uploadPath(t, locA, n2.url), uploadPath(t, locB, n3.url)
	tusPatch(t, n1.url, pathA, tok, folder["set/a.bin"], 0, len(folder["set/a.bin"]))
	resp := tusPatch(t, n1.url, pathB, tok, folder["set/b.bin"], 0, len(folder["set/b.bin"]))
	wantFolder := localInfoHash(t, folder)
	if got := resp.Header.Get("Seedbed-Info-Hash"); got != wantFolder {
		t.Fatalf("folder became %q, want %s", got, wantFolder)
	}
	if k := torrentsNamed(t, n1, tok, "set"); k != 1 {
		t.Fatalf("%d torrents named set, want 1", k)
	}

	// The command-line uploader through a round-robin proxy over the three.
	rr := newRoundRobin(t, c)
	dir := t.TempDir()
	files := map[string][]byte{"cli.bin": filler(3<<20+7, 44)}
	writeFiles(t, dir, files)
	out, err := n1.cli("", "upload", "--server", rr.url, "--token", tok, "--chunk-size", "256KiB",
		"--state", filepath.Join(dir, "state.json"), filepath.Join(dir, "cli.bin"))
	if err != nil {
		t.Fatalf("upload through the proxy: %v\n%s", err, out)
	}
	if ih := localInfoHash(t, files); !strings.Contains(out, ih) {
		t.Fatalf("the CLI did not print %s:\n%s", ih, out)
	}
	if k := rr.nodesUsed(); k != 3 {
		t.Errorf("the proxy used %d nodes, want all 3", k)
	}
}

// When the node holding an upload dies, the others answer 410 Gone with
// Seedbed-Upload-Restart and a message naming the node, and the
// command-line uploader starts over on a live node and finishes.
func TestTusOwnerDown(t *testing.T) {
	c := startCluster(t, clusterOptions{nodes: 3, replicas: 1})
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	tok := n1.addUser("stranded", false)

	data := filler(1<<20, 51)
	loc := tusCreate(t, n1.url, tok, len(data), tusMetadata("filename", "stranded.bin"))
	path := uploadPath(t, loc, n1.url)
	tusPatch(t, n2.url, path, tok, data, 0, 300_000)
	c.kill(0)
	var resp *http.Response
	var body string
	waitFor(t, 30*time.Second, "node 2 to find node 1 offline", func() bool {
		resp, body = tusCall(t, "PATCH", n2.url+path, tok, data[300_000:400_000], map[string]string{"Upload-Offset": "300000"})
		if resp.StatusCode != 410 && resp.StatusCode != 503 {
			t.Fatalf("PATCH while node 1 is dying: HTTP %d %s", resp.StatusCode, body)
		}
		return resp.StatusCode == 410
	})
	if resp.Header.Get("Seedbed-Upload-Restart") != "true" || !strings.Contains(body, "node-1") || !strings.Contains(body, "start the upload over") {
		t.Fatalf("410 reply: %v %s", resp.Header, body)
	}
	if r, _ := tusCall(t, "HEAD", n3.url+path, tok, nil, nil); r.StatusCode != 410 || r.Header.Get("Seedbed-Upload-Restart") != "true" {
		t.Fatalf("HEAD through node 3: HTTP %d %v", r.StatusCode, r.Header)
	}

	// The CLI through the proxy (nodes 2 and 3 left); the node holding its
	// upload dies mid-way.
	rr := newRoundRobin(t, c)
	rr.dead[0].Store(true)
	dir := t.TempDir()
	files := map[string][]byte{"survivor.bin": filler(4<<20, 52)}
	writeFiles(t, dir, files)
	cmd := n2.uploadCmd(tok, filepath.Join(dir, "state.json"), "--limit-rate", "1MiB", "--chunk-size", "128KiB",
		"--retries", "10", filepath.Join(dir, "survivor.bin"))
	cmd.Args[3] = rr.url // --server
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	owner := -1
	waitFor(t, 30*time.Second, "the CLI's upload to land on node 2 or 3", func() bool {
		for i := 1; i < 3; i++ {
			if partial(filepath.Join(c.volumes[i], ".staging", "tus")) > 0 {
				owner = i
				return true
			}
		}
		return false
	})
	rr.dead[owner].Store(true)
	c.kill(owner)
	ownerTus := filepath.Join(c.volumes[owner], ".staging", "tus")
	if cut := partial(ownerTus); cut >= int64(len(files["survivor.bin"])) || emptyTusDir(ownerTus) {
		t.Fatalf("node %d held %d bytes when it died: the test cut nothing", owner+1, cut)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("upload after its node died: %v\n%s%s", err, out.String(), stderr.String())
	}
	want := localInfoHash(t, files)
	if !strings.Contains(out.String(), want) {
		t.Fatalf("the CLI did not print %s:\n%s%s", want, out.String(), stderr.String())
	}
	live := c.nodes[3-owner]
	checkTorrent(t, live, tok, want, "survivor.bin", files["survivor.bin"])
	if obj := live.torrentState(tok, want); len(obj.Replicas) != 1 || obj.Replicas[0].Node != clusterNodeName(3-owner) {
		t.Fatalf("replicas %+v, want one on the live node %s (the upload started over there)", obj.Replicas, clusterNodeName(3-owner))
	}
}

// Two nodes receive resumable uploads of one dormitory's members at the
// same time: together they never exceed the group's quota, and finishing or
// terminating an upload frees its share on the other node too.
func TestGroupQuotaAcrossNodes(t *testing.T) {
	c := startCluster(t, clusterOptions{nodes: 2, replicas: 1})
	n1, n2 := c.nodes[0], c.nodes[1]
	ctx := context.Background()
	cat, err := catalog.Open(ctx, catalog.Options{URL: c.dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	quota := int64(1 << 20)
	g, err := cat.CreateGroup(ctx, "Dorm Q", &quota)
	if err != nil {
		t.Fatal(err)
	}
	var toks []string
	for i := range 8 {
		name := fmt.Sprintf("dorm%d", i)
		toks = append(toks, n1.addUser(name, false))
		u, err := cat.UserByName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cat.SetUserGroup(ctx, u.ID, &g.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Sixteen creations of 200 KiB at once, half on each node: 5 fit.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	var created []string
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := []string{n1.url, n2.url}[i%2]
			resp, body := tusCall(t, "POST", base+"/api/v1/uploads/", toks[i%len(toks)], nil, map[string]string{
				"Upload-Length": strconv.Itoa(200 << 10), "Upload-Metadata": tusMetadata("filename", fmt.Sprintf("q%d.bin", i))})
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			if resp.StatusCode == 201 {
				created = append(created, resp.Header.Get("Location")+" "+toks[i%len(toks)])
			} else if resp.StatusCode == 413 && !strings.Contains(body, "Dorm Q") {
				t.Errorf("413 without the group's name: %s", body)
			}
		}()
	}
	wg.Wait()
	if codes[201] != 5 || codes[413] != 11 {
		t.Fatalf("creations answered %v, want five 201 and eleven 413", codes)
	}
	// A 200 KiB creation no longer fits on either node...
	for _, base := range []string{n1.url, n2.url} {
		if r, _ := tusCall(t, "POST", base+"/api/v1/uploads/", toks[0], nil, map[string]string{
			"Upload-Length": strconv.Itoa(200 << 10), "Upload-Metadata": tusMetadata("filename", "late.bin")}); r.StatusCode != 413 {
			t.Fatalf("a sixth upload through %s: HTTP %d", base, r.StatusCode)
		}
	}
	// ...until one upload is terminated through the node that did not
	// create it.
	loc, tok, _ := strings.Cut(created[0], " ")
	u, _ := url.Parse(loc)
	other := n2.url
	if strings.HasPrefix(loc, n2.url) {
		other = n1.url
	}
	if r, body := tusCall(t, "DELETE", other+u.Path, tok, nil, nil); r.StatusCode != 204 {
		t.Fatalf("DELETE through the other node: HTTP %d %s", r.StatusCode, body)
	}
	if r, body := tusCall(t, "POST", other+"/api/v1/uploads/", toks[0], nil, map[string]string{
		"Upload-Length": strconv.Itoa(200 << 10), "Upload-Metadata": tusMetadata("filename", "late.bin")}); r.StatusCode != 201 {
		t.Fatalf("after a termination: HTTP %d %s", r.StatusCode, body)
	}
}

// roundRobin is a reverse proxy over a cluster's nodes, one node after the
// other per request, skipping nodes marked dead (a proxy's health check).
type roundRobin struct {
	url  string
	next atomic.Int64
	dead []atomic.Bool
	used sync.Map
}

func newRoundRobin(t *testing.T, c *cluster) *roundRobin {
	rr := &roundRobin{dead: make([]atomic.Bool, len(c.nodes))}
	proxies := make([]*httputil.ReverseProxy, len(c.nodes))
	for i, n := range c.nodes {
		u, _ := url.Parse(n.url)
		proxies[i] = httputil.NewSingleHostReverseProxy(u)
		proxies[i].FlushInterval = -1
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range len(proxies) {
			i := int(rr.next.Add(1)) % len(proxies)
			if rr.dead[i].Load() {
				continue
			}
			rr.used.Store(i, true)
			proxies[i].ServeHTTP(w, r)
			return
		}
		http.Error(w, "no node is up", http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	rr.url = srv.URL
	return rr
}

func (rr *roundRobin) nodesUsed() int {
	n := 0
	rr.used.Range(func(any, any) bool { n++; return true })
	return n
}

// partial is how many bytes of unfinished uploads a tus folder holds.
func partial(dir string) int64 {
	var sum int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.Contains(e.Name(), ".") {
			if fi, err := e.Info(); err == nil {
				sum += fi.Size()
			}
		}
	}
	return sum
}

// emptyTusDir tells whether a tus folder holds no upload at all.
func emptyTusDir(dir string) bool {
	entries, _ := os.ReadDir(dir)
	return len(entries) == 0
}
