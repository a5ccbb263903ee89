package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// MaxReportAge is the oldest volume usage report of another node a plan
// uses. Nodes report on every heartbeat (catalog.NodeHeartbeat), so an older
// report means the node cannot measure or report (or runs a version that
// does not): its volume is left out rather than planned from old numbers.
const MaxReportAge = 3 * catalog.NodeTimeout

// Unmeasured is a node or volume whose usage the plan does not know, so
// the high-water rule did not look at it.
type Unmeasured struct {
	Node   string `json:"node"`
	Volume string `json:"volume,omitempty"` // "": every volume of the node
	Why    string `json:"why"`
}

// String is "node: why" or "node/volume: why".
func (u Unmeasured) String() string {
	if u.Volume == "" {
		return u.Node + ": " + u.Why
	}
	return u.Node + "/" + u.Volume + ": " + u.Why
}

// Measure measures this node's volumes now (statfs, or the content against
// a capacity cap). vs may be nil: a process without volumes measures none.
func Measure(vs *seedbox.Volumes, node string) ([]VolumeUsage, []Unmeasured) {
	if vs == nil {
		return nil, nil
	}
	var out []VolumeUsage
	var bad []Unmeasured
	for _, v := range vs.List() {
		used, capa, err := v.Usage()
		if err != nil {
			bad = append(bad, Unmeasured{Node: node, Volume: v.Name, Why: err.Error()})
			continue
		}
		out = append(out, VolumeUsage{Name: v.Name, Node: node, Used: used, Capacity: capa})
	}
	return out, bad
}

// Usage measures this node's volumes for a plan, leaving out those that
// cannot be measured.
func Usage(vs *seedbox.Volumes, node string) []VolumeUsage {
	out, _ := Measure(vs, node)
	return out
}

// MergeUsage is the usage a plan made at now on node starts from: the
// volumes node measured itself (local, measured now; unmeasured, those it
// could not) and every other volume of an online node as the catalog has
// it. A report older than maxAge or measured before a purge last deleted
// data on the volume, a volume never reported and a node offline are not
// planned for; the second result says which and why. A volume's used bytes
// leave out the data of purges in progress (its node deletes it soon), and
// a capped volume's content is the catalog's count, which is never behind.
func MergeUsage(node string, local []VolumeUsage, unmeasured []Unmeasured, remote catalog.VolumeUsageSnapshot,
	now time.Time, maxAge time.Duration) ([]VolumeUsage, []Unmeasured) {
	byKey := map[volKey]catalog.VolumeUsage{}
	for _, r := range remote.Volumes {
		byKey[volKey{r.Node, r.Name}] = r
	}
	var usage []VolumeUsage
	mine := map[volKey]bool{}
	for _, u := range local {
		k := volKey{u.Node, u.Name}
		mine[k] = true
		if r, ok := byKey[k]; ok {
			if r.Capped {
				u.Used, u.Capacity = r.Used, r.Capacity
			}
			u.Used = max(u.Used-r.Pending, 0)
		}
		usage = append(usage, u)
	}
	skipped := append([]Unmeasured(nil), unmeasured...)
	for _, u := range unmeasured {
		mine[volKey{u.Node, u.Volume}] = true
	}
	for _, r := range remote.Volumes {
		k := volKey{r.Node, r.Name}
		why := ""
		switch {
		case mine[k]: // measured here just now
			continue
		case r.At.IsZero():
			why = "usage never reported, not measured"
		case !r.Capped && !r.FreedAt.IsZero() && !r.At.After(r.FreedAt):
			why = "data deleted since its last usage report, not measured"
		case now.Sub(r.At) > maxAge:
			why = fmt.Sprintf("usage last reported %s ago, not measured", human(now.Sub(r.At).Round(time.Second)))
		default:
			usage = append(usage, VolumeUsage{Name: r.Name, Node: r.Node, Used: max(r.Used-r.Pending, 0), Capacity: r.Capacity})
			continue
		}
		skipped = append(skipped, Unmeasured{Node: r.Node, Volume: r.Name, Why: why})
	}
	for _, n := range remote.Offline {
		if n == node && len(local) > 0 {
			continue // this process measured the node's volumes itself
		}
		skipped = append(skipped, Unmeasured{Node: n, Why: "offline, not measured"})
	}
	return usage, skipped
}

// Evaluate makes the current plan: the active torrents from the catalog,
// the usage of this node's volumes (vs, which may be nil) measured now, and
// that of every other online node's volumes as their heartbeats reported
// it. The scheduled run of the leader, `seedbed retention plan|apply` and
// the admin page all plan with it.
func Evaluate(ctx context.Context, cat *catalog.Catalog, vs *seedbox.Volumes, node string, p Policy, now time.Time) (Plan, error) {
	ts, err := cat.RetentionTorrents(ctx)
	if err != nil {
		return Plan{}, err
	}
	remote, err := cat.OnlineVolumeUsage(ctx)
	if err != nil {
		return Plan{}, err
	}
	local, bad := Measure(vs, node)
	usage, unmeasured := MergeUsage(node, local, bad, remote, now, MaxReportAge)
	plan := Make(p, now, ts, usage)
	plan.Unmeasured = unmeasured
	return plan, nil
}
