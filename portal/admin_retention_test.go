package portal

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/seedbox/retention"
)

// The admin page and its JSON show the plan `seedbed retention plan` makes
// (retention.Evaluate), with what, why and bytes per volume, and the scrub
// round's progress; nobody but admins sees them.
func TestAdminRetentionPlan(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	code, big, raw := h.upload(t, map[string]string{"big.iso": strings.Repeat("b", 5000)}, map[string]string{"title": "Old <b>ISO</b>"})
	if code != 201 {
		t.Fatalf("upload: %d %s", code, raw)
	}
	if code, _, raw := h.upload(t, map[string]string{"small.txt": "tiny"}, map[string]string{"title": "Small notes"}); code != 201 {
		t.Fatalf("upload: %d %s", code, raw)
	}
	cfg := config.Retention{MaxSize: 1000, StaleAfter: 0, MinAge: 0, HighWater: 0.9, LowWater: 0.8}
	h.app.opts.Retention = &cfg

	alice := h.signIn(t, "alice")
	if code, _ := alice.get("/admin/retention"); code != 403 {
		t.Errorf("a user's /admin/retention: %d, want 403", code)
	}
	if resp, _ := h.do(t, "GET", "/api/v1/admin/retention", h.token, nil, nil); resp.StatusCode != 403 {
		t.Errorf("a user's retention JSON: %d, want 403", resp.StatusCode)
	}
	_, rootTok := h.addUser(t, "root", catalog.RoleAdmin)
	root := h.signIn(t, "root")

	resp, body := h.do(t, "GET", "/api/v1/admin/retention", rootTok, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("retention JSON: %d %s", resp.StatusCode, body)
	}
	var got retention.Plan
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want, err := retention.Evaluate(ctx, h.cat, h.app.opts.Volumes, "n1", retention.PolicyFrom(cfg), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Purges) != 1 || got.Purges[0].InfoHash != big.InfoHash || got.Purges[0].Rule != retention.RuleOversizedStale ||
		got.Freed != want.Freed || len(got.Volumes) != len(want.Volumes) || got.Volumes[0].Freed != 5000 {
		t.Errorf("plan JSON %+v, want the big torrent purged as in %+v", got, want)
	}

	code, page := root.get("/admin/retention")
	if code != 200 {
		t.Fatalf("retention page: %d", code)
	}
	for _, s := range []string{"1 torrent to purge", "Old &lt;b&gt;ISO&lt;/b&gt;", "/t/" + big.InfoHash, "oversized-stale",
		"larger than max_size", "v1 (n1)", "No scrub round has run yet"} {
		if !strings.Contains(page, s) {
			t.Errorf("retention page lacks %q", s)
		}
	}
	if strings.Contains(page, "Small notes") {
		t.Error("retention page lists a torrent the plan keeps")
	}

	// Another node's full volume, as its heartbeat reported it, and a node
	// that is offline: the page plans for the first and names the second.
	for _, v := range []catalog.Volume{{Name: "w", Node: "n2", Path: "/srv/w"}, {Name: "x", Node: "n3", Path: "/srv/x"}} {
		if _, err := h.cat.RegisterVolume(ctx, catalog.VolumeInfo{Volume: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.cat.Heartbeat(ctx, catalog.Node{Name: "n2"}); err != nil {
		t.Fatal(err)
	}
	if err := h.cat.ReportVolumeUsage(ctx, "n2", []catalog.VolumeUsageReport{{Name: "w", Used: 950, Capacity: 1000}}); err != nil {
		t.Fatal(err)
	}
	_, page = root.get("/admin/retention")
	for _, s := range []string{"95.0%", "above high water", "n3: offline, not measured"} {
		if !strings.Contains(page, s) {
			t.Errorf("retention page with other nodes lacks %q", s)
		}
	}

	// A scrub round half-way through on v1.
	round, err := h.cat.StartScrubRound(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	err = h.cat.SetScrubProgress(ctx, catalog.ScrubVolumeProgress{RoundID: round.ID, Node: "n1", Volume: "v1",
		State: catalog.ScrubRunning, Replicas: 1, BytesDone: 2500, BytesTotal: 5004})
	if err != nil {
		t.Fatal(err)
	}
	_, page = root.get("/admin/retention")
	for _, s := range []string{"started", "by root", `aria-valuenow="50"`, "2.4 KiB of 4.9 KiB", "running"} {
		if !strings.Contains(page, s) {
			t.Errorf("scrub section lacks %q", s)
		}
	}
	if code, _ := root.get("/admin"); code != http.StatusOK {
		t.Errorf("admin page: %d", code)
	}
}
