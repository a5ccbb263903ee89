package e2e

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// torrentStates reads every torrent's state and replica count.
func torrentStates(t *testing.T, db *sql.DB) map[string][2]any {
	t.Helper()
	rows, err := db.Query(`SELECT t.info_hash, t.state, (SELECT COUNT(*) FROM replicas r WHERE r.torrent_id = t.id) FROM torrents t`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][2]any{}
	for rows.Next() {
		var ih, state string
		var reps int
		if err := rows.Scan(&ih, &state, &reps); err != nil {
			t.Fatal(err)
		}
		out[ih] = [2]any{state, reps}
	}
	return out
}

func countRows(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRetentionApplySurvivesSIGKILL kills `seedbed retention apply` in the
// middle of purging many torrents: no torrent is ever active with missing
// data, and the node's restart finishes every half-done purge.
func TestRetentionApplySurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	vol := filepath.Join(dir, "v1")
	cfg := filepath.Join(dir, "seedbed.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[[seedbox.volumes]]
name = "v1"
path = %q
reserve = "1KiB"
[retention]
max_size = "1KiB"
stale_after = "1h"
min_age = "1h"
`, vol)), 0o644)
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
	token := n.addUser("kim", false)
	const count = 300
	names := map[string]string{}
	for i := range count {
		name := fmt.Sprintf("k%03d.bin", i)
		obj, code := n.upload(token, map[string][]byte{name: retBytes(4<<10, uint64(1000+i))}, nil)
		if code != 201 {
			t.Fatalf("upload %d: %d", i, code)
		}
		names[obj.InfoHash] = name
	}
	n.stop()
	db := catalogDB(t, n)
	for ih := range names {
		age(t, db, ih, 10*time.Hour, 0)
	}

	// Right after a kill: every active torrent has its replica and data; a
	// purged one either has no data or still has a replica row marking the
	// work a restart finishes.
	check := func() (pending int) {
		states := torrentStates(t, db)
		for ih, name := range names {
			st, reps := states[ih][0].(string), states[ih][1].(int)
			_, err := os.Stat(filepath.Join(vol, ih[:2], ih, name))
			switch {
			case st == "active" && (reps != 1 || err != nil):
				t.Errorf("%s is active with %d replicas and data %v", ih, reps, err)
			case st == "purged" && reps == 0 && err == nil:
				t.Errorf("%s is purged with no replica but its data on disk (an orphan)", ih)
			case st == "purged" && reps > 0:
				pending++
			case st != "active" && st != "purged":
				t.Errorf("%s is %s", ih, st)
			}
		}
		return pending
	}
	// Several kills at different points; each new apply first finishes what
	// the last one left half done.
	halfDone := 0
	for round := 1; round <= 3; round++ {
		before := countRows(t, db, "SELECT COUNT(*) FROM purges")
		apply := exec.Command(binary, "retention", "apply")
		apply.Env = n.env
		if err := apply.Start(); err != nil {
			t.Fatal(err)
		}
		// Poll tightly: on a quiet machine an apply purges 100 torrents in
		// well under a second.
		deadline := time.Now().Add(60 * time.Second)
		for countRows(t, db, "SELECT COUNT(*) FROM purges") < before+5*round {
			if time.Now().After(deadline) {
				t.Fatal("the apply never got under way")
			}
			time.Sleep(2 * time.Millisecond)
		}
		apply.Process.Signal(syscall.SIGKILL)
		apply.Wait()
		started := countRows(t, db, "SELECT COUNT(*) FROM purges")
		if started >= count {
			t.Fatalf("the apply finished (%d purges) before it was killed: nothing was tested", started)
		}
		pending := check()
		halfDone += pending
		t.Logf("round %d: killed after %d of %d purges had started, %d copies half purged", round, started, count, pending)
	}
	t.Logf("%d half-done purges over all rounds", halfDone)

	n.start()
	waitFor(t, 30*time.Second, "the restarted node to finish the purges", func() bool {
		return check() == 0 && countRows(t, db, "SELECT COUNT(*) FROM purges WHERE finished_at IS NULL") == 0
	})
	if out, err := n.cli("", "retention", "apply"); err != nil {
		t.Fatalf("second apply: %v\n%s", err, out)
	}
	check()
	states := torrentStates(t, db)
	for ih := range names {
		if states[ih][0] != "purged" {
			t.Errorf("%s not purged after the second apply", ih)
		}
	}
	if got := countRows(t, db, "SELECT COUNT(*) FROM purges"); got != count {
		t.Errorf("%d purge records, want one per torrent (%d)", got, count)
	}
}

// TestRetentionAuto: with retention.auto the node applies the policy on its
// own every retention.interval, recorded as done by "auto".
func TestRetentionAuto(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "seedbed.toml")
	write := func(auto bool) {
		os.WriteFile(cfg, []byte(fmt.Sprintf(`[[seedbox.volumes]]
name = "v1"
path = %q
reserve = "1KiB"
[retention]
auto = %v
interval = "1s"
max_size = "1KiB"
stale_after = "1h"
min_age = "1h"
`, filepath.Join(dir, "v1"), auto)), 0o644)
	}
	write(false)
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
	token := n.addUser("otto", false)
	old, _ := n.upload(token, map[string][]byte{"old.bin": retBytes(8<<10, 7)}, nil)
	recent, _ := n.upload(token, map[string][]byte{"new.bin": retBytes(8<<10, 8)}, nil)
	n.stop()
	age(t, catalogDB(t, n), old.InfoHash, 10*time.Hour, 0)
	write(true)
	n.start()
	waitFor(t, 20*time.Second, "the node to purge the stale torrent", func() bool {
		return n.apiTorrent(token, old.InfoHash)["state"] == "purged"
	})
	if st := n.apiTorrent(token, recent.InfoHash)["state"]; st != "active" {
		t.Errorf("young torrent is %v", st)
	}
	if log, err := n.cli("", "retention", "log", "--json"); err != nil || !strings.Contains(log, `"by": "auto"`) {
		t.Errorf("purge not recorded as auto (%v):\n%s", err, log)
	}
}
