package portal

import (
	"bufio"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metricSample is the tracker's Prometheus text (GET /metrics) read into
// name{labels} -> value.
type metricSample struct {
	at     time.Time
	values map[string]float64
}

// parseMetrics reads Prometheus text exposition lines "name{labels} value".
func parseMetrics(text string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// sum adds every series of a metric whose labels contain all of match.
func (m metricSample) sum(name string, match ...string) float64 {
	var s float64
	for k, v := range m.values {
		base, labels, _ := strings.Cut(k, "{")
		if base != name {
			continue
		}
		ok := true
		for _, want := range match {
			if !strings.Contains(labels, want) {
				ok = false
			}
		}
		if ok {
			s += v
		}
	}
	return s
}

// metricsHistory keeps the samples taken when the admin page is viewed, so
// rates (announces per second) come from two readings of the counters.
type metricsHistory struct {
	mu      sync.Mutex
	samples []metricSample
}

const historyLen = 30

func (h *metricsHistory) take(metrics http.Handler) (cur metricSample, all []metricSample, ok bool) {
	if metrics == nil {
		return cur, nil, false
	}
	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		return cur, nil, false
	}
	cur = metricSample{at: time.Now(), values: parseMetrics(rec.Body.String())}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.samples); n == 0 || cur.at.Sub(h.samples[n-1].at) >= time.Second {
		h.samples = append(h.samples, cur)
		if len(h.samples) > historyLen {
			h.samples = h.samples[len(h.samples)-historyLen:]
		}
	}
	return cur, append([]metricSample(nil), h.samples...), true
}

// trackerStats is the tracker section of the admin page.
type trackerStats struct {
	Available                  bool
	Peers, Seeders, Leechers   int64
	Swarms, Torrents, Passkeys int64
	Announces                  int64
	AnnouncesPerSec            string // "" until two readings exist
	LANShare                   string // peers handed out in the requester's subnet, network or campus
	TierChart                  template.HTML
	RateChart                  template.HTML
}

func trackerStatsFrom(cur metricSample, hist []metricSample) trackerStats {
	s := trackerStats{Available: true,
		Seeders:   int64(cur.sum("seedbed_tracker_peers", `role="seeder"`)),
		Leechers:  int64(cur.sum("seedbed_tracker_peers", `role="leecher"`)),
		Swarms:    int64(cur.sum("seedbed_tracker_swarms")),
		Torrents:  int64(cur.sum("seedbed_tracker_torrents")),
		Passkeys:  int64(cur.sum("seedbed_tracker_passkeys")),
		Announces: int64(cur.sum("seedbed_tracker_announces_total")),
	}
	s.Peers = s.Seeders + s.Leechers
	var tiers []bar
	var total, lan float64
	for _, t := range []string{"subnet", "network", "campus", "other"} {
		v := cur.sum("seedbed_tracker_peers_returned_total", `tier="`+t+`"`)
		tiers = append(tiers, bar{Label: t, Value: v})
		total += v
		if t != "other" {
			lan += v
		}
	}
	if total > 0 {
		s.LANShare = fmt.Sprintf("%.0f%%", 100*lan/total)
	}
	s.TierChart = barChart("Peers handed out by tier", tiers)
	var rates []bar
	for i := 1; i < len(hist); i++ {
		dt := hist[i].at.Sub(hist[i-1].at).Seconds()
		d := hist[i].sum("seedbed_tracker_announces_total") - hist[i-1].sum("seedbed_tracker_announces_total")
		if dt > 0 && d >= 0 {
			rates = append(rates, bar{Label: hist[i].at.Format("15:04:05"), Value: d / dt})
		}
	}
	if len(rates) > 0 {
		s.AnnouncesPerSec = fmt.Sprintf("%.1f", rates[len(rates)-1].Value)
		s.RateChart = barChart("Announces per second at each reading of this page", rates)
	}
	return s
}

// bar is one bar of a chart.
type bar struct {
	Label string
	Value float64
}

// barChart draws bars as a small inline SVG (no script, no CDN), with a
// title per bar for the exact value.
func barChart(title string, bars []bar) template.HTML {
	const w, h, gap = 320, 80, 4
	var peak float64
	for _, b := range bars {
		peak = max(peak, b.Value)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		w, h+14, w, h+14, template.HTMLEscapeString(title))
	if len(bars) == 0 {
		return template.HTML(sb.String() + `</svg>`)
	}
	bw := (w - gap*(len(bars)-1)) / len(bars)
	for i, b := range bars {
		bh := 0
		if peak > 0 {
			bh = int(b.Value / peak * (h - 2))
		}
		x := i * (bw + gap)
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%d" height="%d"><title>%s: %s</title></rect>`,
			x, h-bh, bw, max(bh, 1), template.HTMLEscapeString(b.Label), strconv.FormatFloat(b.Value, 'f', -1, 64))
		if len(bars) <= 6 {
			fmt.Fprintf(&sb, `<text x="%d" y="%d">%s</text>`, x+bw/2, h+12, template.HTMLEscapeString(b.Label))
		}
	}
	return template.HTML(sb.String() + `</svg>`)
}
