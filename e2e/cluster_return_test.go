package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// clusterWatch polls one live node's API and .torrent while another node
// returns, and records every moment the returning node's replica was
// counted (listed verified, or its web seed in the url-list) while its file
// on disk was not the uploaded content.
type clusterWatch struct {
	mu         sync.Mutex
	polls      int
	violations []string
	states     []string // the returning node's replica states seen, in order
	stop       chan struct{}
	done       chan struct{}
}

func getWithToken(token, url string) ([]byte, int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// webSeedServes asks node k's web seed (url is its file's URL) for the
// byte at off and tells whether it answered with one, and which.
func webSeedServes(url string, off int64) (byte, bool) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusPartialContent || len(b) != 1 {
		return 0, false
	}
	return b[0], true
}

// watchReturn starts polling node `from` about torrent ih for node k's
// replica, whose file is path and must equal content whenever it counts;
// fileURL is that file on k's web seed, which must never serve the byte at
// off (the damaged one) other than as uploaded.
func (c *cluster) watchReturn(from, k int, token, ih, path, fileURL string, off int64, content []byte) *clusterWatch {
	w := &clusterWatch{stop: make(chan struct{}), done: make(chan struct{})}
	src, name, seed := c.nodes[from], clusterNodeName(k), c.nodes[k].url+"/webseed/"
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			counted := ""
			if b, code, err := getWithToken(token, src.url+"/api/v1/torrents/"+ih); err == nil && code == 200 {
				var obj torrentObject
				if json.Unmarshal(b, &obj) == nil {
					for _, r := range obj.Replicas {
						if r.Node == name {
							w.sawState(r.State)
							if r.State == "verified" {
								counted = "listed verified"
							}
						}
					}
				}
			}
			if b, code, err := getWithToken(token, src.url+"/torrents/"+ih+".torrent"); err == nil && code == 200 {
				if mi, err := metainfo.Load(bytes.NewReader(b)); err == nil {
					for _, u := range mi.UrlList {
						if strings.HasPrefix(u, seed) {
							counted += " in the url-list"
						}
					}
				}
			}
			served, ok := webSeedServes(fileURL, off)
			w.mu.Lock()
			w.polls++
			if ok && served != content[off] {
				w.violations = append(w.violations, fmt.Sprintf("%s: %s's web seed served the damaged byte", time.Now().Format("15:04:05.000"), name))
			}
			if counted != "" && !sameFile(path, content) {
				w.violations = append(w.violations, fmt.Sprintf("%s: %s's damaged replica %s", time.Now().Format("15:04:05.000"), name, counted))
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *clusterWatch) sawState(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.states) == 0 || w.states[len(w.states)-1] != s {
		w.states = append(w.states, s)
	}
}

func (w *clusterWatch) finish() (polls int, violations, states []string) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.polls, w.violations, w.states
}

// verifiedOn lists the nodes with a verified replica, as seen from node i.
func (c *cluster) verifiedOn(i int, token, ih string) []string {
	return verifiedNodes(c.nodes[i].torrentState(token, ih))
}

// TestClusterReturningNodeRechecksAndTrims: three nodes, replicas = 2.
// Node 1 takes the upload, another node k holds the second copy. k is
// killed, the third node makes a copy meanwhile, and one byte of k's copy
// rots while it is down (same size and mtime). When k restarts, its replica
// is never counted nor named in a url-list while damaged: it is checked
// again first, found corrupt and fetched again. Then the torrent has three
// verified copies, and the trim leader removes the one made while k was
// away (the newest), data and row, back to two.
func TestClusterReturningNodeRechecksAndTrims(t *testing.T) {
	c := startCluster(t, clusterOptions{nodes: 3, replicas: 2})
	token := c.nodes[0].addUser("rhea", false)
	content := randomBytes(24<<20+3, 83)
	obj, code := c.nodes[0].upload(token, map[string][]byte{"return.bin": content}, nil)
	if code != 201 {
		t.Fatalf("upload to node 1: HTTP %d", code)
	}
	ih := obj.InfoHash
	var holders []string
	waitFor(t, 120*time.Second, "two verified replicas", func() bool {
		holders = c.verifiedOn(0, token, ih)
		return len(holders) == 2
	})
	k := 1
	if !slices.Contains(holders, clusterNodeName(1)) {
		k = 2
	}
	third := 3 - k // the node without a copy
	kName, thirdName := clusterNodeName(k), clusterNodeName(third)
	t.Logf("replicas on %v; killing %s", holders, kName)

	c.kill(k)
	waitFor(t, 120*time.Second, thirdName+" to replace "+kName+"'s copy", func() bool {
		return slices.Equal(c.verifiedOn(0, token, ih), []string{"node-1", thirdName})
	})
	path := contentPath(c.volumes[k], ih, "return.bin")
	off := int64(len(content) / 2)
	flipByteKeepTime(t, path, off)
	// k's web seed URL of the file: node 1's url-list entry on k's host.
	_, mi := c.torrentFrom(0, token, ih)
	if len(mi.UrlList) == 0 || !strings.HasPrefix(mi.UrlList[0], c.nodes[0].url+"/webseed/") {
		t.Fatalf("url-list of node 1's .torrent: %v", mi.UrlList)
	}
	fileURL := c.nodes[k].url + strings.TrimPrefix(mi.UrlList[0], c.nodes[0].url) + "return.bin"
	if b, ok := webSeedServes(strings.Replace(fileURL, c.nodes[k].url, c.nodes[0].url, 1), off); !ok || b != content[off] {
		t.Fatalf("node 1's web seed does not serve the file: %v %v", b, ok)
	}

	w := c.watchReturn(0, k, token, ih, path, fileURL, off, content)
	c.restart(k)
	waitFor(t, 120*time.Second, kName+"'s copy fetched again and verified", func() bool {
		return slices.Contains(c.verifiedOn(0, token, ih), kName) && sameFile(path, content)
	})
	// Back to two: the copy made while k was away goes, data and row.
	thirdPath := contentPath(c.volumes[third], ih, "return.bin")
	waitFor(t, 120*time.Second, "the surplus copy on "+thirdName+" to be removed", func() bool {
		reps := c.nodes[0].torrentState(token, ih).Replicas
		return len(reps) == 2 && slices.Equal(verifiedNodes(c.nodes[0].torrentState(token, ih)), []string{"node-1", kName}) &&
			!fileExists(thirdPath)
	})
	polls, violations, states := w.finish()
	t.Logf("%s's replica seen as %v over %d polls", kName, states, polls)
	if len(violations) > 0 {
		t.Fatalf("%d polls counted a damaged replica, first: %s", len(violations), violations[0])
	}
	if !slices.Contains(states, "corrupt") && !slices.Contains(states, "pending") && !slices.Contains(states, "copying") {
		t.Errorf("%s's replica never showed it was being checked or fetched again: %v", kName, states)
	}
	if !sameFile(contentPath(c.volumes[0], ih, "return.bin"), content) {
		t.Error("node 1's copy differs from the upload")
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
