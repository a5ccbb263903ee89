package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestScaleRestart uploads 2,000 small torrents through the API, restarts
// the node cleanly, and checks the deadline: the seedbox seeds all of
// them within 10 s of the process starting (a clean shutdown lets it trust
// what it verified before instead of hashing everything again), and serves
// a random one to aria2c.
func TestScaleRestart(t *testing.T) {
	needTool(t, "aria2c", "aria2")
	if testing.Short() {
		t.Skip("2,000 uploads")
	}
	const count = 2000
	n := startNode(t, nodeOptions{})
	token := n.addUser("scale", false)
	contents := make([][]byte, count)
	hashes := make([]string, count)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				b := randomBytes(1000+i, uint64(1000+i))
				obj, code := n.upload(token, map[string][]byte{fmt.Sprintf("small-%04d.bin", i): b}, nil)
				mu.Lock()
				if code != 201 {
					failed = append(failed, fmt.Sprintf("%d: HTTP %d", i, code))
				}
				contents[i], hashes[i] = b, obj.InfoHash
				mu.Unlock()
			}
		})
	}
	for i := range count {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d uploads failed: %v", len(failed), failed[:min(5, len(failed))])
	}

	n.stop()
	os.Truncate(n.logFile, 0)
	start := time.Now()
	n.start()
	ready := regexp.MustCompile(`msg="seedbox ready".* torrents=(\d+) took=(\S+)`)
	var m []string
	for m == nil {
		log, _ := os.ReadFile(n.logFile)
		if m = ready.FindStringSubmatch(string(log)); m != nil {
			break
		}
		if time.Since(start) > 90*time.Second {
			n.dumpLog()
			t.Fatal("the seedbox was not ready 90 s after the restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)
	if got, _ := strconv.Atoi(m[1]); got != count {
		n.dumpLog()
		t.Fatalf("seedbox ready with %s torrents, want %d", m[1], count)
	}
	t.Logf("restart with %d torrents: seeding all after %v (process start to ready; seeder's own count %s)", count, elapsed.Round(time.Millisecond), m[2])
	if elapsed > 10*time.Second {
		t.Errorf("a node with %d torrents took %v to start seeding them all, want under 10 s", count, elapsed)
	}

	i := rand.IntN(count)
	torrent, code := n.get(token, n.url+"/torrents/"+hashes[i]+".torrent")
	if code != 200 {
		t.Fatalf(".torrent: %d", code)
	}
	dest := t.TempDir()
	aria2Download(t, withoutWebSeeds(t, torrent), dest, aria2Options{iface: "127.0.0.32"})
	sameContent(t, dest, map[string][]byte{fmt.Sprintf("small-%04d.bin", i): contents[i]}, false)
}
