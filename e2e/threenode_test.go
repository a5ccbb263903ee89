package e2e

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedbed/seedbed/internal/testenv"
)

// verifiedNodes lists, sorted, the nodes the API shows a verified replica on.
func verifiedNodes(obj torrentObject) []string {
	var out []string
	for _, r := range obj.Replicas {
		if r.State == "verified" {
			out = append(out, r.Node)
		}
	}
	slices.Sort(out)
	return out
}

// torrentFrom fetches the .torrent from node i and parses it.
func (c *cluster) torrentFrom(i int, token, ih string) ([]byte, *metainfo.MetaInfo) {
	c.t.Helper()
	n := c.nodes[i]
	b, code := n.get(token, n.url+"/torrents/"+ih+".torrent")
	if code != 200 {
		c.t.Fatalf(".torrent from node %d: HTTP %d %s", i+1, code, b)
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	return b, mi
}

// wantWebSeeds checks that the url-list names exactly the given nodes' web
// seeds (0-based), in that order.
func (c *cluster) wantWebSeeds(mi *metainfo.MetaInfo, nodes ...int) {
	c.t.Helper()
	var want []string
	for _, i := range nodes {
		want = append(want, c.nodes[i].url+"/webseed/")
	}
	ok := len(mi.UrlList) == len(want)
	for j := 0; ok && j < len(want); j++ {
		ok = strings.HasPrefix(mi.UrlList[j], want[j])
	}
	if !ok {
		c.t.Fatalf("url-list %v, want web seeds of %v in that order", mi.UrlList, want)
	}
}

// downloadAll runs, in parallel, aria2c and Transmission from the peers
// only (announcing to the .torrent's tracker) and aria2c from the web seeds
// only, each into a fresh folder, and checks every copy.
func downloadAll(t *testing.T, torrent []byte, files map[string][]byte, ipBase string) {
	t.Helper()
	peersOnly := withoutWebSeeds(t, torrent)
	t.Run("downloads", func(t *testing.T) {
		t.Run("aria2c", func(t *testing.T) {
			t.Parallel()
			dest := t.TempDir()
			aria2Download(t, peersOnly, dest, aria2Options{iface: ipBase + "1"})
			sameContent(t, dest, files, false)
		})
		t.Run("transmission", func(t *testing.T) {
			t.Parallel()
			dest := t.TempDir()
			tr := startTransmission(t, ipBase+"2", dest)
			tr.download(peersOnly, 3*time.Minute)
			sameContent(t, dest, files, true)
		})
		t.Run("aria2c-webseeds", func(t *testing.T) {
			t.Parallel()
			dest := t.TempDir()
			aria2Download(t, torrent, dest, aria2Options{iface: ipBase + "3", webSeedOnly: true})
			sameContent(t, dest, files, false)
		})
	})
	if t.Failed() {
		t.FailNow()
	}
}

// TestThreeNodes is issue 6's acceptance: three nodes on one PostgreSQL
// catalog and one Redis, every one with a volume named "default",
// replicas = 3. An upload to node 1 spreads to nodes 2 and 3 through
// BitTorrent; clients announcing to node 2 download it; with node 1 killed
// the torrent shows 2 replicas and downloads still complete; when node 1
// returns it counts again.
func TestThreeNodes(t *testing.T) {
	testenv.Need(t, "aria2c", "aria2")
	testenv.Need(t, "transmission-daemon", "transmission-daemon")
	c := startCluster(t, clusterOptions{nodes: 3, replicas: 3})
	n1, n2 := c.nodes[0], c.nodes[1]
	token := n1.addUser("olga", false)
	files := map[string][]byte{"campus.bin": randomBytes(12<<20+5, 61)}
	obj, code := n1.upload(token, files, nil)
	if code != 201 {
		t.Fatalf("upload to node 1: HTTP %d", code)
	}
	ih := obj.InfoHash
	all := []string{"node-1", "node-2", "node-3"}

	start := time.Now()
	waitFor(t, 120*time.Second, "verified replicas on all three nodes", func() bool {
		return slices.Equal(verifiedNodes(n2.torrentState(token, ih)), all)
	})
	t.Logf("3 verified replicas %v after the upload", time.Since(start).Round(100*time.Millisecond))
	for i, vol := range c.volumes {
		if !sameFile(contentPath(vol, ih, "campus.bin"), files["campus.bin"]) {
			t.Fatalf("node %d's replica differs from the upload", i+1)
		}
	}
	for _, r := range n2.torrentState(token, ih).Replicas {
		if r.Volume != clusterVolume {
			t.Errorf("replica %+v is not on the node's volume %q", r, clusterVolume)
		}
	}

	// The .torrent from node 2 announces to node 2 and names every node's
	// web seed, node 2's first.
	torrent, mi := c.torrentFrom(1, token, ih)
	if !strings.HasPrefix(mi.Announce, n2.url+"/announce/") {
		t.Fatalf("announce %q is not node 2's", mi.Announce)
	}
	c.wantWebSeeds(mi, 1, 0, 2)
	downloadAll(t, torrent, files, "127.0.2.1")

	// Node 1 dies without a word: within a few heartbeats its replica no
	// longer counts nor appears as a web seed, and everything still works.
	c.kill(0)
	start = time.Now()
	waitFor(t, 30*time.Second, "the torrent to show the 2 replicas of live nodes", func() bool {
		return slices.Equal(verifiedNodes(n2.torrentState(token, ih)), all[1:])
	})
	t.Logf("2 replicas %v after SIGKILL of node 1", time.Since(start).Round(100*time.Millisecond))
	page, code := n2.get(token, n2.url+"/t/"+ih)
	if code != 200 || !strings.Contains(string(page), "node-1/default: verified (node offline)") {
		t.Errorf("torrent page does not show node 1 offline: HTTP %d", code)
	}
	torrent, mi = c.torrentFrom(1, token, ih)
	c.wantWebSeeds(mi, 1, 2)
	downloadAll(t, torrent, files, "127.0.2.2")

	// Node 1 returns (its volumes are verified again after the unclean
	// shutdown) and counts again; nobody made a 4th copy meanwhile.
	start = time.Now()
	c.restart(0)
	waitFor(t, 60*time.Second, "node 1's replica to count again", func() bool {
		return slices.Equal(verifiedNodes(n2.torrentState(token, ih)), all)
	})
	t.Logf("3 replicas again %v after restarting node 1", time.Since(start).Round(100*time.Millisecond))
	if reps := n2.torrentState(token, ih).Replicas; len(reps) != 3 {
		t.Errorf("replicas after node 1 returned: %+v", reps)
	}
	_, mi = c.torrentFrom(0, token, ih)
	c.wantWebSeeds(mi, 0, 1, 2)
}
