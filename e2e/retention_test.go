package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // ages torrents in the node's SQLite catalog
)

// retentionConfig writes a config with one capped volume and a retention
// policy measured in KiB and hours, and returns its path.
func retentionConfig(t *testing.T, dir, capacity string) string {
	t.Helper()
	cfg := fmt.Sprintf(`[[seedbox.volumes]]
name = "v1"
path = %q
reserve = "1KiB"
capacity = %q

[retention]
max_size = "1500KiB"
stale_after = "1h"
min_age = "1h"
high_water = 0.90
low_water = 0.80
exempt_categories = ["courses"]
`, filepath.Join(dir, "v1"), capacity)
	path := filepath.Join(dir, "seedbed.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func retBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 99))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// catalogDB opens the node's SQLite catalog to age torrents: the honest way
// to make hours pass without waiting for them.
func catalogDB(t *testing.T, n *node) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(n.dir, "data", "seedbed.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// age sets when a torrent was uploaded and last active (zero: never).
func age(t *testing.T, db *sql.DB, ih string, created, active time.Duration) {
	t.Helper()
	var last any
	if active > 0 {
		last = time.Now().Add(-active).UTC()
	}
	if _, err := db.Exec("UPDATE torrents SET created_at = ?, last_active_at = ? WHERE info_hash = ?",
		time.Now().Add(-created).UTC(), last, ih); err != nil {
		t.Fatal(err)
	}
}

type retentionPlan struct {
	Purges []struct {
		InfoHash string `json:"info_hash"`
		Rule     string `json:"rule"`
		Reason   string `json:"reason"`
		Size     int64  `json:"size"`
	} `json:"purges"`
	Volumes []struct {
		Name  string `json:"name"`
		Freed int64  `json:"freed"`
	} `json:"volumes"`
	Freed int64 `json:"freed"`
}

func (n *node) apiTorrent(token, ih string) map[string]any {
	n.t.Helper()
	b, code := n.get(token, n.url+"/api/v1/torrents/"+ih)
	if code != 200 {
		n.t.Fatalf("GET torrent %s: %d %s", ih, code, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		n.t.Fatal(err)
	}
	return m
}

// passkeyOf reads the user's passkey from a personalized .torrent.
func (n *node) passkeyOf(token, ih string) string {
	n.t.Helper()
	b, code := n.get(token, n.url+"/torrents/"+ih+".torrent")
	m := regexp.MustCompile(`/announce/([A-Za-z0-9_-]{32})`).FindSubmatch(b)
	if code != 200 || m == nil {
		n.t.Fatalf("no passkey in the .torrent (HTTP %d)", code)
	}
	return string(m[1])
}

// TestRetentionPlanApplyRevive: a catalog with oversized, stale, pinned,
// exempt, fresh and young torrents on a volume above high water; `plan`
// names exactly the right ones with their reasons; `apply` frees the bytes,
// marks them purged and keeps their pages; the web seed answers 410; a
// re-upload revives one.
func TestRetentionPlanApplyRevive(t *testing.T) {
	dir := t.TempDir()
	cfg := retentionConfig(t, dir, "0")
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
	token := n.addUser("rita", true)
	const KiB = 1 << 10
	type item struct {
		name, category  string
		size            int
		created, active time.Duration // ago; active 0: never
		pinned          bool
		rule            string // expected purge rule; "" kept
	}
	items := []item{
		{name: "big.iso", size: 2048 * KiB, created: 10 * time.Hour, rule: "oversized-stale"},
		{name: "fresh.iso", size: 2048 * KiB, created: 10 * time.Hour, active: time.Minute},
		{name: "pinned.iso", size: 2048 * KiB, created: 10 * time.Hour, pinned: true},
		{name: "lecture.iso", category: "courses", size: 2048 * KiB, created: 10 * time.Hour},
		{name: "young.iso", size: 2048 * KiB, created: 0},
		{name: "s1.bin", size: 1024 * KiB, created: 20 * time.Hour, rule: "high-water"},
		{name: "s2.bin", size: 1024 * KiB, created: 15 * time.Hour, rule: "high-water"},
		{name: "s3.bin", size: 1024 * KiB, created: 12 * time.Hour, active: 2 * time.Hour},
	}
	content := map[string][]byte{}
	ihs := map[string]string{}
	for i, it := range items {
		content[it.name] = retBytes(it.size, uint64(i+1))
		obj, code := n.upload(token, map[string][]byte{it.name: content[it.name]}, map[string]string{"category": it.category})
		if code != 201 {
			t.Fatalf("upload %s: %d", it.name, code)
		}
		ihs[it.name] = obj.InfoHash
	}
	// Hours pass; then the volume gets a 12 MiB cap: 13 MiB stored is 108% full.
	n.stop()
	db := catalogDB(t, n)
	for _, it := range items {
		age(t, db, ihs[it.name], it.created, it.active)
		if it.pinned {
			if _, err := db.Exec("UPDATE torrents SET pinned = TRUE WHERE info_hash = ?", ihs[it.name]); err != nil {
				t.Fatal(err)
			}
		}
	}
	retentionConfig(t, dir, "12MiB")
	n.start()

	out, err := n.cli("", "retention", "plan", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var plan retentionPlan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, p := range plan.Purges {
		got[p.InfoHash] = p.Rule
		if p.Reason == "" {
			t.Errorf("purge of %s has no reason", p.InfoHash)
		}
	}
	var freed int64
	for _, it := range items {
		if got[ihs[it.name]] != it.rule {
			t.Errorf("%s: planned %q, want %q", it.name, got[ihs[it.name]], it.rule)
		}
		if it.rule != "" {
			freed += int64(it.size)
		}
	}
	if len(plan.Purges) != 3 || len(plan.Volumes) != 1 || plan.Volumes[0].Freed != freed || plan.Freed != freed {
		t.Fatalf("plan: %s", out)
	}
	if !strings.Contains(plan.Purges[0].Reason, "larger than max_size") || !strings.Contains(plan.Purges[1].Reason, "above high_water") {
		t.Errorf("reasons: %q / %q", plan.Purges[0].Reason, plan.Purges[1].Reason)
	}
	text, err := n.cli("", "retention", "plan")
	if err != nil || !strings.Contains(text, ihs["big.iso"]) || !strings.Contains(text, "oversized-stale") || !strings.Contains(text, "4.0 MiB") {
		t.Errorf("plan text (%v):\n%s", err, text)
	}

	if out, err = n.cli("", "retention", "apply"); err != nil || !strings.Contains(out, "3 torrent(s) purged, 4.0 MiB deleted") {
		t.Fatalf("apply (%v):\n%s", err, out)
	}
	vol := filepath.Join(dir, "v1")
	passkey := n.passkeyOf(token, ihs["big.iso"])
	for _, it := range items {
		ih := ihs[it.name]
		obj := n.apiTorrent(token, ih)
		_, statErr := os.Stat(filepath.Join(vol, ih[:2], ih, it.name))
		seed, code := n.get("", n.url+"/webseed/"+passkey+"/"+ih+"/"+it.name)
		if it.rule == "" {
			if obj["state"] != "active" || statErr != nil || code != 200 || len(seed) != it.size {
				t.Errorf("%s kept: state %v, data %v, web seed %d", it.name, obj["state"], statErr, code)
			}
			continue
		}
		if obj["state"] != "purged" || obj["purge_reason"] == "" || !os.IsNotExist(statErr) || code != 410 {
			t.Errorf("%s purged: state %v reason %v, data %v, web seed %d", it.name, obj["state"], obj["purge_reason"], statErr, code)
		}
		page, code := n.get(token, n.url+"/t/"+ih)
		why := map[string]string{"oversized-stale": "larger than max_size", "high-water": "above high_water"}[it.rule]
		if code != 200 || !strings.Contains(string(page), "purged from the seedbox") || !strings.Contains(string(page), why) {
			t.Errorf("page of purged %s (HTTP %d) does not say it was purged and why (%q)", it.name, code, why)
		}
	}
	if log, err := n.cli("", "retention", "log"); err != nil || strings.Count(log, "cli:") != 3 {
		t.Errorf("retention log (%v):\n%s", err, log)
	}
	// Nothing left to do.
	if out, _ := n.cli("", "retention", "plan", "--json"); !strings.Contains(out, `"purges": null`) && !strings.Contains(out, `"purges": []`) {
		t.Errorf("second plan is not empty:\n%s", out)
	}

	// The same content uploaded again revives the purged torrent, once the
	// node has seen the freed space (it reads its volumes every 2 s).
	var obj torrentObject
	var code int
	waitFor(t, 10*time.Second, "room for the re-upload", func() bool {
		obj, code = n.upload(token, map[string][]byte{"big.iso": content["big.iso"]}, nil)
		return code != 507
	})
	if code != 201 || obj.InfoHash != ihs["big.iso"] || obj.State != "active" || obj.Duplicate {
		vl, _ := n.cli("", "volume", "list")
		t.Log(vl)
		n.dumpLog()
		t.Fatalf("re-upload: %d %+v", code, obj)
	}
	if len(obj.Replicas) != 1 || obj.Replicas[0].State != "verified" {
		t.Errorf("revived replicas %+v", obj.Replicas)
	}
	seed, code := n.get("", n.url+"/webseed/"+passkey+"/"+obj.InfoHash+"/big.iso")
	if code != 200 || string(seed) != string(content["big.iso"]) {
		t.Errorf("web seed of the revived torrent: %d, %d bytes", code, len(seed))
	}
	if out, _ := n.cli("", "retention", "plan", "--json"); strings.Contains(out, obj.InfoHash) {
		t.Errorf("the revived torrent is planned for purge again:\n%s", out)
	}
}
