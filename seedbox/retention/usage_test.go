package retention

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// TestMergeUsage: the plan's usage is this node's volumes measured now plus
// the fresh reports of the other online nodes; this node's own reports in
// the catalog are replaced by the measurement (but a capped volume takes
// the catalog's live count), data of purges in progress is left out,
// stale or missing reports, reports measured before data was deleted and
// offline nodes are left out and named, and the high-water rule then
// purges on another node's full volume.
func TestMergeUsage(t *testing.T) {
	local := []VolumeUsage{{Name: "v1", Node: "n1", Used: 10 * GiB, Capacity: 100 * GiB},
		{Name: "capped", Node: "n1", Used: 5 * GiB, Capacity: 10 * GiB}}
	bad := []Unmeasured{{Node: "n1", Volume: "v2", Why: "statfs /x: no such file or directory"}}
	remote := catalog.VolumeUsageSnapshot{
		Volumes: []catalog.VolumeUsage{
			{Node: "n1", Name: "v1", Used: 99 * GiB, Capacity: 100 * GiB, At: now.Add(-time.Second)}, // older than local
			{Node: "n1", Name: "v2", Used: 1, Capacity: 2, At: now},                                  // local failed: not reused
			{Node: "n1", Name: "capped", Used: 7 * GiB, Capacity: 10 * GiB, At: now, Capped: true, Pending: GiB},
			{Node: "n2", Name: "freed", Used: 99 * GiB, Capacity: 100 * GiB, At: now.Add(-time.Second), FreedAt: now.Add(-time.Second)},
			{Node: "n2", Name: "pending", Used: 99 * GiB, Capacity: 100 * GiB, At: now.Add(-time.Second),
				FreedAt: now.Add(-time.Minute), Pending: 9 * GiB},
			{Node: "n2", Name: "v1", Used: 95 * GiB, Capacity: 100 * GiB, At: now.Add(-3 * time.Second)},
			{Node: "n2", Name: "old", Used: 99 * GiB, Capacity: 100 * GiB, At: now.Add(-time.Minute)},
			{Node: "n2", Name: "new", Used: 0, Capacity: 0},
		},
		Offline: []string{"n1", "n3"}, // n1: this node, its daemon stopped
	}
	usage, skipped := MergeUsage("n1", local, bad, remote, now, MaxReportAge)
	wantUsage := []VolumeUsage{local[0], {Name: "capped", Node: "n1", Used: 6 * GiB, Capacity: 10 * GiB},
		{Name: "pending", Node: "n2", Used: 90 * GiB, Capacity: 100 * GiB}, {Name: "v1", Node: "n2", Used: 95 * GiB, Capacity: 100 * GiB}}
	if !reflect.DeepEqual(usage, wantUsage) {
		t.Fatalf("usage\n got %+v\nwant %+v", usage, wantUsage)
	}
	var why []string
	for _, u := range skipped {
		why = append(why, u.String())
	}
	wantWhy := []string{"n1/v2: statfs /x: no such file or directory", "n2/freed: data deleted since its last usage report, not measured",
		"n2/old: usage last reported 1m0s ago, not measured",
		"n2/new: usage never reported, not measured", "n3: offline, not measured"}
	if !reflect.DeepEqual(why, wantWhy) {
		t.Fatalf("skipped\n got %q\nwant %q", why, wantWhy)
	}

	// Without local volumes (a portal-only process) this node's reports
	// are used like any other's, and this node offline is named.
	usage, skipped = MergeUsage("n1", nil, nil, remote, now, MaxReportAge)
	if len(usage) != 5 || usage[0].Node != "n1" || usage[0].Used != 99*GiB {
		t.Fatalf("usage without local volumes: %+v", usage)
	}
	if last := skipped[len(skipped)-2].String(); last != "n1: offline, not measured" {
		t.Fatalf("skipped without local volumes: %v", skipped)
	}

	// The plan purges the stale torrent on n2's full volume only.
	stale := tor(1, 20*GiB, 60*day, 40*day, "v1")
	stale.Replicas[0].Node = "n2"
	onN1 := tor(2, 20*GiB, 60*day, 40*day, "v1")
	usage, skipped = MergeUsage("n1", local, bad, remote, now, MaxReportAge)
	plan := Make(Policy{StaleAfter: 30 * day, HighWater: 0.9, LowWater: 0.8}, now,
		[]catalog.RetentionTorrent{stale, onN1}, usage)
	plan.Unmeasured = skipped
	if len(plan.Purges) != 1 || plan.Purges[0].TorrentID != 1 || plan.Purges[0].Rule != RuleHighWater {
		t.Fatalf("purges %+v, want torrent 1 by high-water", plan.Purges)
	}
	var out bytes.Buffer
	if err := plan.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"n3: offline, not measured", "n2/old: usage last reported", "95.0%"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("plan text lacks %q:\n%s", want, out.String())
		}
	}
}
