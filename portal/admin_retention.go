package portal

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/seedbox/retention"
)

// retentionPlan evaluates the retention policy now, exactly as `seedbed
// retention plan` and the scheduled run do (retention.Evaluate): this
// node's volumes (if any) measured now and every other online node's
// volumes as their heartbeats reported them give the usage for the
// high-water rule.
func (a *App) retentionPlan(ctx context.Context) (retention.Plan, error) {
	if a.opts.Retention == nil {
		return retention.Plan{}, echo.NewHTTPError(http.StatusNotFound, "retention is not configured on this node")
	}
	p := retention.PolicyFrom(*a.opts.Retention)
	return retention.Evaluate(ctx, a.opts.Catalog, a.opts.Volumes, a.opts.Node, p, time.Now())
}

// apiAdminRetention is GET /api/v1/admin/retention: the current plan, the
// same JSON as `seedbed retention plan --json`.
func (a *App) apiAdminRetention(c echo.Context) error {
	plan, err := a.retentionPlan(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, plan)
}

type retentionPurgeRow struct {
	InfoHash, Title, Category, Size, Rule, Reason, Volumes string
}

type retentionVolumeRow struct {
	Name, Node, Used, Capacity, Freed string
	Full, FullAfter                   string // "" when the usage is not known here
	FullPercent, AfterPercent         int
	AboveHighWater                    bool
	Purges                            int
}

type retentionPolicyView struct {
	MaxSize, StaleAfter, MinAge, HighWater, LowWater, Exempt string
}

type adminRetentionView struct {
	Base
	At      string
	Policy  retentionPolicyView
	Purges  []retentionPurgeRow
	Volumes []retentionVolumeRow
	Freed   string
	// Unmeasured: nodes and volumes the high-water rule skipped, as
	// "node: why" lines.
	Unmeasured []string
	Scrub      scrubView
}

// adminRetentionShow is GET /admin/retention: what the retention policy
// would purge now, why, and the bytes it frees per volume; and the progress
// of the current scrub round.
func (a *App) adminRetentionShow(c echo.Context) error {
	ctx := c.Request().Context()
	plan, err := a.retentionPlan(ctx)
	if err != nil {
		return err
	}
	v := adminRetentionView{Base: a.base(c), At: plan.At.UTC().Format("2006-01-02 15:04 MST"),
		Policy: policyView(plan.Policy), Freed: config.HumanBytes(plan.Freed)}
	for _, p := range plan.Purges {
		r := retentionPurgeRow{InfoHash: p.InfoHash, Title: p.Title, Category: p.Category,
			Size: config.HumanBytes(p.Size), Rule: p.Rule, Reason: p.Reason}
		for i, rep := range p.Replicas {
			if i > 0 {
				r.Volumes += ", "
			}
			r.Volumes += rep.Volume + " (" + rep.Node + ")"
		}
		v.Purges = append(v.Purges, r)
	}
	for _, vp := range plan.Volumes {
		v.Volumes = append(v.Volumes, volumePlanRow(vp))
	}
	for _, u := range plan.Unmeasured {
		v.Unmeasured = append(v.Unmeasured, u.String())
	}
	v.Scrub = a.scrubStatus(ctx)
	return a.renderPage(c, http.StatusOK, "admin_retention", v)
}

func policyView(p retention.Policy) retentionPolicyView {
	out := retentionPolicyView{MaxSize: "no size rule", StaleAfter: humanDuration(p.StaleAfter), MinAge: humanDuration(p.MinAge),
		HighWater: fmt.Sprintf("%.0f%%", 100*p.HighWater), LowWater: fmt.Sprintf("%.0f%%", 100*p.LowWater), Exempt: "none"}
	if p.MaxSize > 0 {
		out.MaxSize = config.HumanBytes(p.MaxSize)
	}
	for i, c := range p.ExemptCategories {
		if i == 0 {
			out.Exempt = ""
		} else {
			out.Exempt += ", "
		}
		out.Exempt += c
	}
	return out
}

// humanDuration writes whole days as days ("30 days"), else Go's form.
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

func volumePlanRow(vp retention.VolumePlan) retentionVolumeRow {
	r := retentionVolumeRow{Name: vp.Name, Node: vp.Node, Freed: config.HumanBytes(vp.Freed),
		AboveHighWater: vp.AboveHighWater, Purges: vp.Purges, Used: "—", Capacity: "—"}
	if vp.Capacity > 0 {
		r.Used, r.Capacity = config.HumanBytes(vp.Used), config.HumanBytes(vp.Capacity)
		r.Full, r.FullAfter = fmt.Sprintf("%.1f%%", 100*vp.Fullness), fmt.Sprintf("%.1f%%", 100*vp.FullnessAfter)
		r.FullPercent, r.AfterPercent = percent(vp.Fullness), percent(vp.FullnessAfter)
	}
	return r
}

func percent(f float64) int { return int(min(max(f, 0), 1)*100 + 0.5) }

type scrubRow struct {
	Node, Volume, State, Done, Total, Error string
	Percent                                 int
	Replicas, Corrupt                       int64
	Updated                                 string
}

type scrubView struct {
	Error   string // the status could not be read
	Round   uint64 // 0: no round was ever started
	Started string
	By      string
	Rows    []scrubRow
	Pending []string // volumes (node/name) that have not started the round
}

// scrubStatus reads the latest scrub round's progress from the catalog; a
// failure shows on the page instead of failing it.
func (a *App) scrubStatus(ctx context.Context) scrubView {
	st, err := a.opts.Catalog.ScrubStatusNow(ctx)
	if err != nil {
		a.log.Warn("admin page: scrub status", "err", err)
		return scrubView{Error: "the scrub status could not be read"}
	}
	if st.Round == nil {
		return scrubView{}
	}
	v := scrubView{Round: st.Round.ID, Started: st.Round.StartedAt.UTC().Format("2006-01-02 15:04 MST"), By: st.Round.StartedBy}
	for _, p := range st.Progress {
		v.Rows = append(v.Rows, scrubProgressRow(p))
	}
	for _, vol := range st.Pending {
		v.Pending = append(v.Pending, vol.Name+" ("+vol.Node+")")
	}
	return v
}

func scrubProgressRow(p catalog.ScrubVolumeProgress) scrubRow {
	r := scrubRow{Node: p.Node, Volume: p.Volume, State: p.State, Replicas: p.Replicas, Corrupt: p.Corrupt,
		Done: config.HumanBytes(p.BytesDone), Total: config.HumanBytes(p.BytesTotal), Error: p.Error,
		Updated: p.UpdatedAt.UTC().Format("2006-01-02 15:04:05 MST")}
	switch {
	case p.State == catalog.ScrubDone:
		r.Percent = 100
	case p.BytesTotal > 0:
		r.Percent = percent(float64(p.BytesDone) / float64(p.BytesTotal))
	}
	return r
}
