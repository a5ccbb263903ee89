// Package retention decides which torrents' data the seedbox frees and frees
// it. The policy (config [retention]) is evaluated into a Plan an
// administrator can read before anything happens (`seedbed retention
// plan`); Apply carries it out crash-safely. Two rules purge a torrent:
//
//   - oversized-stale: larger than max_size, stale (no completed download and
//     no leecher for stale_after) and older than min_age;
//   - high-water: on a volume fuller than high_water, stale torrents older
//     than min_age of any size, stalest first then largest, until the volume
//     is below low_water.
//
// Pinned torrents and exempt categories are never purged.
package retention

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
)

// Rules.
const (
	RuleOversizedStale = "oversized-stale"
	RuleHighWater      = "high-water"
)

// Policy is the retention configuration.
type Policy struct {
	MaxSize          int64         `json:"max_size"` // 0: no size rule
	StaleAfter       time.Duration `json:"stale_after"`
	MinAge           time.Duration `json:"min_age"`
	HighWater        float64       `json:"high_water"`
	LowWater         float64       `json:"low_water"`
	ExemptCategories []string      `json:"exempt_categories"`
}

// PolicyFrom reads the policy from the config.
func PolicyFrom(r config.Retention) Policy {
	return Policy{MaxSize: int64(r.MaxSize), StaleAfter: r.StaleAfter.D(), MinAge: r.MinAge.D(),
		HighWater: r.HighWater, LowWater: r.LowWater, ExemptCategories: r.ExemptCategories}
}

// VolumeUsage is how full a volume is, where the planner can know it: the
// volumes of the node making the plan, measured now, and those of the other
// online nodes as their heartbeats reported it (see Evaluate).
type VolumeUsage struct {
	Name, Node     string
	Used, Capacity int64
}

// Replica is where a planned purge frees bytes.
type Replica struct {
	VolumeID uint64 `json:"volume_id"`
	Volume   string `json:"volume"`
	Node     string `json:"node"`
}

// Purge is one torrent the plan purges.
type Purge struct {
	TorrentID uint64 `json:"torrent_id"`
	InfoHash  string `json:"info_hash"`
	Title     string `json:"title"`
	Category  string `json:"category"`
	Size      int64  `json:"size"`
	Rule      string `json:"rule"`
	Reason    string `json:"reason"`
	// LastActive is the last completed download or leecher activity, or
	// the upload time when there was none.
	LastActive time.Time `json:"last_active"`
	Created    time.Time `json:"created"`
	Replicas   []Replica `json:"replicas"`
}

// VolumePlan is what the plan does to one volume. Capacity and Used are 0
// for volumes whose usage is not known (see Plan.Unmeasured); Used leaves
// out data of purges in progress (see MergeUsage).
type VolumePlan struct {
	Name           string  `json:"name"`
	Node           string  `json:"node"`
	Capacity       int64   `json:"capacity"`
	Used           int64   `json:"used"`
	Freed          int64   `json:"freed"`
	UsedAfter      int64   `json:"used_after"`
	Fullness       float64 `json:"fullness"`
	FullnessAfter  float64 `json:"fullness_after"`
	AboveHighWater bool    `json:"above_high_water"`
	Purges         int     `json:"purges"`
}

// Plan is what retention would purge now, and why.
type Plan struct {
	At      time.Time    `json:"at"`
	Policy  Policy       `json:"policy"`
	Purges  []Purge      `json:"purges"`
	Volumes []VolumePlan `json:"volumes"`
	Freed   int64        `json:"freed"` // bytes over every volume
	// Unmeasured are the nodes and volumes whose usage was not known, so
	// the high-water rule did not look at them (filled by Evaluate).
	Unmeasured []Unmeasured `json:"unmeasured,omitempty"`
}

// Make evaluates the policy at now over the active torrents and the known
// volume usage. It is a pure function: same input, same plan.
func Make(p Policy, now time.Time, torrents []catalog.RetentionTorrent, usage []VolumeUsage) Plan {
	pl := planner{p: p, now: now, purged: map[uint64]bool{}, freed: map[volKey]int64{}, purges: map[volKey]int{}}
	for i := range torrents {
		t := &torrents[i]
		if p.MaxSize > 0 && t.Size > p.MaxSize && pl.eligible(t) {
			idle, age := pl.idle(t), now.Sub(t.CreatedAt)
			pl.add(t, RuleOversizedStale, fmt.Sprintf("%s is larger than max_size %s; %s; uploaded %s ago",
				config.HumanBytes(t.Size), config.HumanBytes(p.MaxSize), staleText(t, idle), human(age)))
		}
	}
	usage = slices.Clone(usage)
	sort.Slice(usage, func(i, j int) bool {
		return volKey{usage[i].Node, usage[i].Name}.less(volKey{usage[j].Node, usage[j].Name})
	})
	for _, u := range usage {
		pl.highWater(torrents, u)
	}
	return pl.plan(usage)
}

type planner struct {
	p      Policy
	now    time.Time
	out    []Purge
	purged map[uint64]bool
	freed  map[volKey]int64 // by volume: names are unique per node only
	purges map[volKey]int
}

// volKey names a volume: its node and its name on that node.
type volKey struct{ node, name string }

func (k volKey) less(o volKey) bool { return k.node < o.node || k.node == o.node && k.name < o.name }

// last is the torrent's last activity, or its upload time.
func last(t *catalog.RetentionTorrent) time.Time {
	if t.LastActiveAt.IsZero() || t.LastActiveAt.Before(t.CreatedAt) {
		return t.CreatedAt
	}
	return t.LastActiveAt
}

func (pl *planner) idle(t *catalog.RetentionTorrent) time.Duration { return pl.now.Sub(last(t)) }

// eligible: not pinned, not exempt, stale and old enough, not yet purged.
func (pl *planner) eligible(t *catalog.RetentionTorrent) bool {
	return !t.Pinned && !pl.exempt(t.Category) && !pl.purged[t.ID] &&
		pl.idle(t) >= pl.p.StaleAfter && pl.now.Sub(t.CreatedAt) >= pl.p.MinAge
}

func (pl *planner) exempt(category string) bool {
	for _, c := range pl.p.ExemptCategories {
		if strings.EqualFold(strings.TrimSpace(c), strings.TrimSpace(category)) {
			return true
		}
	}
	return false
}

func (pl *planner) add(t *catalog.RetentionTorrent, rule, reason string) {
	pu := Purge{TorrentID: t.ID, InfoHash: t.InfoHash, Title: t.Title, Category: t.Category, Size: t.Size,
		Rule: rule, Reason: reason, LastActive: last(t), Created: t.CreatedAt}
	for _, r := range t.Replicas {
		pu.Replicas = append(pu.Replicas, Replica{VolumeID: r.VolumeID, Volume: r.VolumeName, Node: r.Node})
		k := volKey{r.Node, r.VolumeName}
		pl.freed[k] += t.Size
		pl.purges[k]++
	}
	pl.purged[t.ID] = true
	pl.out = append(pl.out, pu)
}

// highWater purges stale torrents on a volume above high_water, stalest
// first then largest, until it is below low_water.
func (pl *planner) highWater(torrents []catalog.RetentionTorrent, u VolumeUsage) {
	if u.Capacity <= 0 {
		return
	}
	k := volKey{u.Node, u.Name}
	used := u.Used - pl.freed[k]
	full := float64(used) / float64(u.Capacity)
	if full <= pl.p.HighWater {
		return
	}
	without := ""
	if pl.freed[k] > 0 {
		without = " without the oversized torrents"
	}
	var cands []*catalog.RetentionTorrent
	for i := range torrents {
		t := &torrents[i]
		if pl.eligible(t) && onVolume(t, k) {
			cands = append(cands, t)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if la, lb := last(a), last(b); !la.Equal(lb) {
			return la.Before(lb)
		}
		if a.Size != b.Size {
			return a.Size > b.Size
		}
		return a.ID < b.ID
	})
	for _, t := range cands {
		if float64(used)/float64(u.Capacity) < pl.p.LowWater {
			return
		}
		pl.add(t, RuleHighWater, fmt.Sprintf("volume %s is %.1f%% full%s, above high_water %.0f%%; %s; purged stalest first, then largest, until below low_water %.0f%%",
			u.Name, 100*full, without, 100*pl.p.HighWater, staleText(t, pl.idle(t)), 100*pl.p.LowWater))
		used -= t.Size
	}
}

func onVolume(t *catalog.RetentionTorrent, k volKey) bool {
	for _, r := range t.Replicas {
		if r.VolumeName == k.name && r.Node == k.node {
			return true
		}
	}
	return false
}

// plan assembles the result with per-volume totals.
func (pl *planner) plan(usage []VolumeUsage) Plan {
	out := Plan{At: pl.now, Policy: pl.p, Purges: pl.out}
	seen := map[volKey]bool{}
	for _, u := range usage {
		k := volKey{u.Node, u.Name}
		seen[k] = true
		vp := VolumePlan{Name: u.Name, Node: u.Node, Capacity: u.Capacity, Used: u.Used, Freed: pl.freed[k], Purges: pl.purges[k]}
		vp.UsedAfter = max(u.Used-vp.Freed, 0)
		if u.Capacity > 0 {
			vp.Fullness = float64(u.Used) / float64(u.Capacity)
			vp.FullnessAfter = float64(vp.UsedAfter) / float64(u.Capacity)
			vp.AboveHighWater = vp.Fullness > pl.p.HighWater
		}
		out.Volumes = append(out.Volumes, vp)
	}
	var others []volKey
	for k := range pl.freed {
		if !seen[k] {
			others = append(others, k)
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].less(others[j]) })
	for _, k := range others {
		out.Volumes = append(out.Volumes, VolumePlan{Name: k.name, Node: k.node, Freed: pl.freed[k], Purges: pl.purges[k]})
	}
	for _, v := range out.Volumes {
		out.Freed += v.Freed
	}
	return out
}

// staleText says how long a torrent has had no activity.
func staleText(t *catalog.RetentionTorrent, idle time.Duration) string {
	if t.LastActiveAt.IsZero() || !t.LastActiveAt.After(t.CreatedAt) {
		return fmt.Sprintf("no completed download or leecher since its upload %s ago", human(idle))
	}
	return fmt.Sprintf("no completed download or leecher for %s (last %s)", human(idle), t.LastActiveAt.UTC().Format("2006-01-02 15:04 MST"))
}

// human renders a duration for people: "45 days", "3h0m0s".
func human(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return d.Round(time.Second).String()
}
