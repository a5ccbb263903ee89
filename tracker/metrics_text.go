package tracker

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MetricsHandler serves WriteMetrics: mount it on GET /metrics.
func (t *Tracker) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		if err := t.WriteMetrics(w); err != nil && t.log.Enabled(r.Context(), slog.LevelDebug) {
			t.log.Debug("tracker: writing metrics", "err", err)
		}
	})
}

// WriteMetrics writes the tracker's metrics in the Prometheus text
// exposition format (version 0.0.4): requests by protocol and result, the
// swarms and peers, the peers handed out per LAN tier, and the accounting
// flushes. It reads the store's totals, so it is not for the announce path.
func (t *Tracker) WriteMetrics(w io.Writer) error {
	var p promText
	t.writeRequestMetrics(&p)
	t.writeSwarmMetrics(&p)
	t.writeFlushMetrics(&p)
	_, err := w.Write(p.buf)
	return err
}

func (t *Tracker) writeRequestMetrics(p *promText) {
	for _, m := range []struct {
		name, help string
		c          *counters
	}{
		{"seedbed_tracker_announces_total", "Announces answered, by protocol and result.", t.metrics.announces},
		{"seedbed_tracker_scrapes_total", "Scrapes answered, by protocol and result.", t.metrics.scrapes},
	} {
		p.header(m.name, "counter", m.help)
		for proto := range numProtocols {
			for res := range numResults {
				v := m.c.value(int(proto)*int(numResults) + int(res))
				p.sample(m.name, labels("protocol", protocolNames[proto], "result", resultNames[res]), float64(v))
			}
		}
	}
	p.header("seedbed_tracker_announces_early_total", "counter",
		"Announces sooner than min interval, answered without updating stats.")
	p.sample("seedbed_tracker_announces_early_total", "", float64(t.metrics.early.value(0)))
	p.header("seedbed_tracker_peers_returned_total", "counter", "Peers handed out in announce replies, by LAN tier.")
	for tier := range NumTiers {
		p.sample("seedbed_tracker_peers_returned_total", labels("tier", tier.String()), float64(t.metrics.returned.value(int(tier))))
	}
	p.header("seedbed_tracker_seedbox_peers_returned_total", "counter", "Seedbox peers handed out in announce replies.")
	p.sample("seedbed_tracker_seedbox_peers_returned_total", "", float64(t.metrics.returned.value(int(NumTiers))))
}

func (t *Tracker) writeSwarmMetrics(p *promText) {
	users, torrents := t.access.Counts()
	p.header("seedbed_tracker_torrents", "gauge", "Torrents registered on the tracker.")
	p.sample("seedbed_tracker_torrents", "", float64(torrents))
	p.header("seedbed_tracker_passkeys", "gauge", "Passkeys the tracker knows.")
	p.sample("seedbed_tracker_passkeys", "", float64(users))
	totals, err := t.store.Totals(context.Background())
	if err != nil {
		t.log.Warn("tracker: store totals for metrics", "err", err)
		return
	}
	p.header("seedbed_tracker_swarms", "gauge", "Swarms with at least one peer.")
	p.sample("seedbed_tracker_swarms", "", float64(totals.Swarms))
	p.header("seedbed_tracker_peers", "gauge", "Peers in all swarms, by role.")
	p.sample("seedbed_tracker_peers", labels("role", "seeder"), float64(totals.Seeders))
	p.sample("seedbed_tracker_peers", labels("role", "leecher"), float64(totals.Leechers))
}

func (t *Tracker) writeFlushMetrics(p *promText) {
	f := &t.metrics.flush
	p.header("seedbed_tracker_flushes_total", "counter", "Accounting flushes to the catalog, by result.")
	p.sample("seedbed_tracker_flushes_total", labels("result", "ok"), float64(f.ok.Load()))
	p.sample("seedbed_tracker_flushes_total", labels("result", "failure"), float64(f.failed.Load()))
	const hist = "seedbed_tracker_flush_duration_seconds"
	p.header(hist, "histogram", "How long accounting flushes took.")
	var cum uint64
	for i := range f.buckets {
		cum += f.buckets[i].Load()
		le := math.Inf(1)
		if i < len(flushBuckets) {
			le = flushBuckets[i]
		}
		p.sample(hist+"_bucket", labels("le", formatFloat(le)), float64(cum))
	}
	p.sample(hist+"_sum", "", time.Duration(f.sumNanos.Load()).Seconds())
	p.sample(hist+"_count", "", float64(cum))
	p.header("seedbed_tracker_flush_backlog", "gauge", "Accounting deltas (user, torrent) waiting for the next flush.")
	p.sample("seedbed_tracker_flush_backlog", "", float64(t.backlog()))
	p.header("seedbed_tracker_flush_last_batch", "gauge", "Deltas in the last flush.")
	p.sample("seedbed_tracker_flush_last_batch", "", float64(f.lastBatch.Load()))
	p.header("seedbed_tracker_flush_last_success_timestamp_seconds", "gauge", "When a flush last left nothing behind.")
	p.sample("seedbed_tracker_flush_last_success_timestamp_seconds", "", float64(f.lastOK.Load()))
}

// backlog is the number of pending accounting deltas.
func (t *Tracker) backlog() int {
	if t.ledger == nil {
		return 0
	}
	return t.ledger.pendingLen()
}

// promText accumulates the text exposition format.
type promText struct{ buf []byte }

func (p *promText) header(name, typ, help string) {
	p.buf = append(p.buf, "# HELP "+name+" "+help+"\n# TYPE "+name+" "+typ+"\n"...)
}

func (p *promText) sample(name, labels string, v float64) {
	p.buf = append(p.buf, name...)
	p.buf = append(p.buf, labels...)
	p.buf = append(p.buf, ' ')
	p.buf = append(p.buf, formatFloat(v)...)
	p.buf = append(p.buf, '\n')
}

// labels renders name/value pairs as {a="x",b="y"}, values escaped.
func labels(pairs ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(pairs[i] + `="` + labelEscaper.Replace(pairs[i+1]) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10) // counts read as counts
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
