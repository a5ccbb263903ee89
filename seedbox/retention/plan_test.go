package retention

import (
	"strings"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

const (
	day = 24 * time.Hour
	GiB = int64(1) << 30
)

// now is the fake clock of every plan test.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

var policy = Policy{MaxSize: 10 * GiB, StaleAfter: 30 * day, MinAge: 7 * day, HighWater: 0.9, LowWater: 0.8,
	ExemptCategories: []string{"Courses"}}

// tor builds a torrent uploaded age ago, last active idle ago (0: never),
// with a replica on each volume.
func tor(id uint64, size int64, age, idle time.Duration, vols ...string) catalog.RetentionTorrent {
	t := catalog.RetentionTorrent{ID: id, InfoHash: strings.Repeat(string(rune('a'+id%6)), 40), Title: "t",
		Size: size, CreatedAt: now.Add(-age)}
	if idle > 0 {
		t.LastActiveAt = now.Add(-idle)
	}
	for i, v := range vols {
		t.Replicas = append(t.Replicas, catalog.Replica{TorrentID: id, VolumeID: uint64(i + 1), VolumeName: v, Node: "n1"})
	}
	return t
}

func pinned(t catalog.RetentionTorrent) catalog.RetentionTorrent { t.Pinned = true; return t }

func category(c string, t catalog.RetentionTorrent) catalog.RetentionTorrent {
	t.Category = c
	return t
}

func TestMake(t *testing.T) {
	roomy := []VolumeUsage{{Name: "v1", Node: "n1", Used: 10 * GiB, Capacity: 100 * GiB}}
	tests := []struct {
		name    string
		ts      []catalog.RetentionTorrent
		usage   []VolumeUsage
		want    map[uint64]string // torrent id -> rule
		reasons map[uint64]string // torrent id -> text the reason contains
	}{
		{
			name:  "oversized and stale is purged",
			ts:    []catalog.RetentionTorrent{tor(1, 11*GiB, 60*day, 40*day, "v1")},
			usage: roomy, want: map[uint64]string{1: RuleOversizedStale},
			reasons: map[uint64]string{1: "larger than max_size 10.0 GiB; no completed download or leecher for 40 days"},
		},
		{
			name:  "never downloaded counts from the upload",
			ts:    []catalog.RetentionTorrent{tor(1, 11*GiB, 31*day, 0, "v1")},
			usage: roomy, want: map[uint64]string{1: RuleOversizedStale},
			reasons: map[uint64]string{1: "since its upload 31 days ago"},
		},
		{
			name:  "oversized but recently active is kept",
			ts:    []catalog.RetentionTorrent{tor(1, 11*GiB, 60*day, 29*day, "v1")},
			usage: roomy, want: map[uint64]string{},
		},
		{
			name:  "exactly max_size is not oversized",
			ts:    []catalog.RetentionTorrent{tor(1, 10*GiB, 60*day, 40*day, "v1")},
			usage: roomy, want: map[uint64]string{},
		},
		{
			name:  "oversized and stale but younger than min_age is kept",
			ts:    []catalog.RetentionTorrent{tor(1, 11*GiB, 6*day, 0, "v1")},
			usage: roomy, want: map[uint64]string{},
		},
		{
			name:  "stale exactly at stale_after",
			ts:    []catalog.RetentionTorrent{tor(1, 11*GiB, 30*day, 0, "v1")},
			usage: roomy, want: map[uint64]string{1: RuleOversizedStale},
		},
		{
			name:  "pinned is never purged",
			ts:    []catalog.RetentionTorrent{pinned(tor(1, 50*GiB, 300*day, 200*day, "v1"))},
			usage: []VolumeUsage{{Name: "v1", Node: "n1", Used: 99 * GiB, Capacity: 100 * GiB}}, want: map[uint64]string{},
		},
		{
			name:  "exempt category is never purged, case-insensitively",
			ts:    []catalog.RetentionTorrent{category("courses", tor(1, 50*GiB, 300*day, 200*day, "v1"))},
			usage: []VolumeUsage{{Name: "v1", Node: "n1", Used: 99 * GiB, Capacity: 100 * GiB}}, want: map[uint64]string{},
		},
		{
			name:  "below high water small stale torrents stay",
			ts:    []catalog.RetentionTorrent{tor(1, 1*GiB, 300*day, 200*day, "v1")},
			usage: []VolumeUsage{{Name: "v1", Node: "n1", Used: 90 * GiB, Capacity: 100 * GiB}}, want: map[uint64]string{},
		},
		{
			name: "above high water: stalest first, until below low water",
			ts: []catalog.RetentionTorrent{
				tor(1, 4*GiB, 100*day, 50*day, "v1"), // second stalest
				tor(2, 4*GiB, 100*day, 90*day, "v1"), // stalest
				tor(3, 4*GiB, 100*day, 40*day, "v1"), // third: by then below low water
				tor(4, 4*GiB, 100*day, 1*day, "v1"),  // fresh
				tor(5, 4*GiB, 100*day, 60*day, "v2"), // other volume, not full
			},
			usage: []VolumeUsage{{Name: "v1", Node: "n1", Used: 95 * GiB, Capacity: 100 * GiB}, {Name: "v2", Node: "n1", Used: 10 * GiB, Capacity: 100 * GiB}},
			// 95 -> 91 -> 87 -> 83 -> 79: four purges would be needed, only three are stale.
			want:    map[uint64]string{1: RuleHighWater, 2: RuleHighWater, 3: RuleHighWater},
			reasons: map[uint64]string{2: "volume v1 is 95.0% full, above high_water 90%"},
		},
		{
			name: "above high water: stops once below low water; ties go to the largest",
			ts: []catalog.RetentionTorrent{
				tor(1, 2*GiB, 100*day, 50*day, "v1"), // tie on staleness, smaller: second, 86 -> 84
				tor(2, 9*GiB, 100*day, 50*day, "v1"), // tie, larger: first, 95 -> 86
				tor(3, 5*GiB, 100*day, 45*day, "v1"), // 84 -> 79: below low water, stop
				tor(4, 1*GiB, 100*day, 44*day, "v1"),
			},
			usage: []VolumeUsage{{Name: "v1", Node: "n1", Used: 95 * GiB, Capacity: 100 * GiB}},
			want:  map[uint64]string{2: RuleHighWater, 1: RuleHighWater, 3: RuleHighWater},
		},
		{
			name: "oversized purges count first: no high-water pass once they bring the volume down",
			ts: []catalog.RetentionTorrent{
				tor(1, 11*GiB, 100*day, 50*day, "v1"), // oversized: 99 -> 88, not above high water
				tor(2, 5*GiB, 100*day, 90*day, "v1"),
				tor(3, 5*GiB, 100*day, 80*day, "v1"),
			},
			usage: []VolumeUsage{{Name: "v1", Node: "n1", Used: 99 * GiB, Capacity: 100 * GiB}},
			want:  map[uint64]string{1: RuleOversizedStale},
		},
		{
			name: "high water skips pinned, exempt, fresh and young torrents",
			ts: []catalog.RetentionTorrent{
				pinned(tor(1, 5*GiB, 100*day, 90*day, "v1")),
				category("Courses", tor(2, 5*GiB, 100*day, 90*day, "v1")),
				tor(3, 5*GiB, 100*day, 2*day, "v1"),
				tor(4, 5*GiB, 3*day, 0, "v1"),
				tor(5, 5*GiB, 100*day, 31*day, "v1"),
			},
			usage: []VolumeUsage{{Name: "v1", Node: "n1", Used: 95 * GiB, Capacity: 100 * GiB}},
			want:  map[uint64]string{5: RuleHighWater},
		},
		{
			name:  "a volume without known usage triggers nothing",
			ts:    []catalog.RetentionTorrent{tor(1, 5*GiB, 100*day, 90*day, "v9")},
			usage: nil, want: map[uint64]string{},
		},
		{
			name:  "max_size 0 turns the size rule off",
			ts:    []catalog.RetentionTorrent{tor(1, 500*GiB, 100*day, 90*day, "v1")},
			usage: roomy, want: map[uint64]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy
			if strings.HasPrefix(tt.name, "max_size 0") {
				p.MaxSize = 0
			}
			plan := Make(p, now, tt.ts, tt.usage)
			got := map[uint64]string{}
			for _, pu := range plan.Purges {
				if _, dup := got[pu.TorrentID]; dup {
					t.Errorf("torrent %d planned twice", pu.TorrentID)
				}
				got[pu.TorrentID] = pu.Rule
				if want, ok := tt.reasons[pu.TorrentID]; ok && !strings.Contains(pu.Reason, want) {
					t.Errorf("torrent %d reason %q, want it to contain %q", pu.TorrentID, pu.Reason, want)
				}
				if pu.Reason == "" {
					t.Errorf("torrent %d has no reason", pu.TorrentID)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("plan purges %v, want %v", got, tt.want)
			}
			for id, rule := range tt.want {
				if got[id] != rule {
					t.Errorf("torrent %d: rule %q, want %q (plan %v)", id, got[id], rule, got)
				}
			}
		})
	}
}

func TestMakeOrderAndBytesFreed(t *testing.T) {
	ts := []catalog.RetentionTorrent{
		tor(1, 3*GiB, 100*day, 50*day, "v1", "v2"),
		tor(2, 6*GiB, 100*day, 90*day, "v1"),
		tor(3, 20*GiB, 100*day, 40*day, "v2", "remote"),
	}
	usage := []VolumeUsage{{Name: "v2", Node: "n1", Used: 40 * GiB, Capacity: 100 * GiB},
		{Name: "v1", Node: "n1", Used: 95 * GiB, Capacity: 100 * GiB}}
	plan := Make(policy, now, ts, usage)
	var order []uint64
	for _, pu := range plan.Purges {
		order = append(order, pu.TorrentID)
	}
	// Oversized first (3), then v1's high-water pass stalest first: 2 (95->89), 1 (89->86)... 86 is
	// still above low water but nothing else is stale on v1.
	if want := []uint64{3, 2, 1}; !equal(order, want) {
		t.Fatalf("purge order %v, want %v", order, want)
	}
	freed := map[string]int64{}
	for _, v := range plan.Volumes {
		freed[v.Name] = v.Freed
	}
	want := map[string]int64{"v1": 9 * GiB, "v2": 23 * GiB, "remote": 20 * GiB}
	for name, n := range want {
		if freed[name] != n {
			t.Errorf("volume %s frees %d, want %d (all %v)", name, freed[name], n, freed)
		}
	}
	if plan.Freed != 52*GiB {
		t.Errorf("total freed %d, want %d", plan.Freed, 52*GiB)
	}
	if plan.Volumes[0].Name != "v1" || !plan.Volumes[0].AboveHighWater || plan.Volumes[0].FullnessAfter != 0.86 {
		t.Errorf("volume v1 plan %+v", plan.Volumes[0])
	}
	// Pure: the same input gives the same plan.
	again := Make(policy, now, ts, usage)
	if len(again.Purges) != len(plan.Purges) || again.Purges[1].Reason != plan.Purges[1].Reason {
		t.Error("Make is not deterministic")
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMakeSameVolumeNameOnTwoNodes: node n1's "default" is full, n2's is
// not; a torrent only on n2's "default" is no candidate for n1's high-water
// pass, and each node's volume reports its own bytes.
func TestMakeSameVolumeNameOnTwoNodes(t *testing.T) {
	onN2 := tor(1, 5*GiB, 100*day, 90*day, "default")
	onN2.Replicas[0].Node = "n2"
	onN1 := tor(2, 6*GiB, 100*day, 50*day, "default")
	both := tor(3, 1*GiB, 100*day, 40*day, "default")
	r := both.Replicas[0]
	r.Node, r.VolumeID = "n2", 9
	both.Replicas = append(both.Replicas, r)
	usage := []VolumeUsage{{Name: "default", Node: "n1", Used: 95 * GiB, Capacity: 100 * GiB}}
	plan := Make(policy, now, []catalog.RetentionTorrent{onN2, onN1, both}, usage)
	var order []uint64
	for _, pu := range plan.Purges {
		order = append(order, pu.TorrentID)
	}
	if want := []uint64{2, 3}; !equal(order, want) {
		t.Fatalf("purges %v, want %v: a torrent only on n2 was judged by n1's volume", order, want)
	}
	freed := map[string]int64{}
	for _, v := range plan.Volumes {
		freed[v.Node+"/"+v.Name] = v.Freed
	}
	if freed["n1/default"] != 7*GiB || freed["n2/default"] != 1*GiB || len(plan.Volumes) != 2 {
		t.Errorf("freed per volume %v", freed)
	}
}
