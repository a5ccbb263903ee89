package tracker

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	metricName   = `[a-zA-Z_:][a-zA-Z0-9_:]*`
	labelPair    = `[a-zA-Z_][a-zA-Z0-9_]*="(?:\\[\\"n]|[^"\\\n])*"`
	helpLine     = regexp.MustCompile(`^# HELP (` + metricName + `) \S.*$`)
	typeLine     = regexp.MustCompile(`^# TYPE (` + metricName + `) (counter|gauge|histogram|summary|untyped)$`)
	sampleLine   = regexp.MustCompile(`^(` + metricName + `)(\{` + labelPair + `(?:,` + labelPair + `)*\})? (\S+)$`)
	familySuffix = regexp.MustCompile(`_(bucket|sum|count)$`)
)

// parseMetrics checks the Prometheus text format (0.0.4) line by line: every
// line is a HELP, a TYPE or a sample; every sample's family was typed
// before it, once; values are numbers. It returns the samples by
// "name{labels}".
func parseMetrics(t *testing.T, text []byte) map[string]float64 {
	t.Helper()
	samples, typed := map[string]float64{}, map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case helpLine.MatchString(line):
		case typeLine.MatchString(line):
			m := typeLine.FindStringSubmatch(line)
			if typed[m[1]] != "" {
				t.Errorf("line %d: %s typed twice", n, m[1])
			}
			typed[m[1]] = m[2]
		case sampleLine.MatchString(line):
			m := sampleLine.FindStringSubmatch(line)
			family := m[1]
			if typed[family] == "" {
				family = familySuffix.ReplaceAllString(family, "")
			}
			if typed[family] == "" {
				t.Errorf("line %d: sample of untyped family: %q", n, line)
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Errorf("line %d: value %q: %v", n, m[3], err)
			}
			if _, dup := samples[m[1]+m[2]]; dup {
				t.Errorf("line %d: duplicate sample %q", n, line)
			}
			samples[m[1]+m[2]] = v
		default:
			t.Errorf("line %d is not in the text format: %q", n, line)
		}
	}
	if len(text) == 0 || text[len(text)-1] != '\n' {
		t.Error("output does not end with a newline")
	}
	return samples
}

func TestMetricsOutput(t *testing.T) {
	h := lanHarness(t, Options{AllowedClients: []string{"-SB"}})
	for i, remote := range []string{"10.1.1.1", "10.1.1.2", "10.1.2.3", "10.2.0.4", "192.0.2.5"} {
		h.announce(t, ann{peer: i + 1, remote: remote, left: 0})
	}
	h.announce(t, ann{passkey: "box", peer: 99, remote: "192.0.2.99", left: 0})
	h.announce(t, ann{peer: 50, remote: "10.1.1.50", left: 10, extra: "numwant=3"}) // subnet 1, 2; network 3 -> seedbox
	h.failure(t, ann{passkey: "nobody", peer: 1}.path(), "10.0.0.1:1")
	h.failure(t, ann{passkey: "mallory", peer: 1}.path(), "10.0.0.1:1")
	h.failure(t, ann{ih: ihStray, peer: 1}.path(), "10.0.0.1:1")
	h.failure(t, ann{peer: 1, extra: withPeerID("-XL0012-aaaaaaaaaaaa")}.path(), "10.0.0.1:1")
	h.failure(t, "/announce/alice?info_hash=short", "10.0.0.1:1")
	h.get(t, scrapePath("alice", ihOne), "10.0.0.1:1")
	h.tr.CountAnnounce(ProtocolUDP, nil)
	h.tr.CountAnnounce(ProtocolUDP, errors.New("redis down"))
	h.tr.CountScrape(ProtocolUDP, errUnknownPasskey)
	h.announce(t, ann{peer: 50, remote: "10.1.1.50", up: 10, left: 10})
	if err := h.tr.flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	w := httptest.NewRecorder()
	h.tr.MetricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	got := parseMetrics(t, w.Body.Bytes())
	want := map[string]float64{
		`seedbed_tracker_announces_total{protocol="http",result="ok"}`:                 8,
		`seedbed_tracker_announces_total{protocol="http",result="unknown_passkey"}`:    1,
		`seedbed_tracker_announces_total{protocol="http",result="account_disabled"}`:   1,
		`seedbed_tracker_announces_total{protocol="http",result="unregistered"}`:       1,
		`seedbed_tracker_announces_total{protocol="http",result="client_not_allowed"}`: 1,
		`seedbed_tracker_announces_total{protocol="http",result="malformed"}`:          1,
		`seedbed_tracker_announces_total{protocol="http",result="rate_limited"}`:       0,
		`seedbed_tracker_announces_total{protocol="udp",result="ok"}`:                  1,
		`seedbed_tracker_announces_total{protocol="udp",result="internal"}`:            1,
		`seedbed_tracker_scrapes_total{protocol="http",result="ok"}`:                   1,
		`seedbed_tracker_scrapes_total{protocol="udp",result="unknown_passkey"}`:       1,
		`seedbed_tracker_peers_returned_total{tier="subnet"}`:                          2 + 2,
		`seedbed_tracker_peers_returned_total{tier="network"}`:                         1,
		`seedbed_tracker_torrents`:                                 2,
		`seedbed_tracker_swarms`:                                   1,
		`seedbed_tracker_peers{role="seeder"}`:                     6,
		`seedbed_tracker_peers{role="leecher"}`:                    1,
		`seedbed_tracker_flushes_total{result="ok"}`:               1,
		`seedbed_tracker_flush_duration_seconds_count`:             1,
		`seedbed_tracker_flush_duration_seconds_bucket{le="+Inf"}`: 1,
		`seedbed_tracker_flush_backlog`:                            0,
		`seedbed_tracker_flush_last_batch`:                         1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if got[`seedbed_tracker_seedbox_peers_returned_total`] < 1 {
		t.Error("the seedbox handed to the leecher was not counted")
	}
}

func TestMetricsFlushFailureAndBacklog(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 1})
	h.announce(t, ann{peer: 1, up: 10, left: 1})
	h.sink.failing = true
	if err := h.tr.flush(t.Context()); err == nil {
		t.Fatal("flush into a failing sink: no error")
	}
	var b bytes.Buffer
	if err := h.tr.WriteMetrics(&b); err != nil {
		t.Fatal(err)
	}
	got := parseMetrics(t, b.Bytes())
	if got[`seedbed_tracker_flushes_total{result="failure"}`] != 1 || got[`seedbed_tracker_flush_backlog`] != 1 {
		t.Errorf("after a failed flush: %v failures, backlog %v", got[`seedbed_tracker_flushes_total{result="failure"}`], got[`seedbed_tracker_flush_backlog`])
	}
}

func TestFlushHistogramBuckets(t *testing.T) {
	var f flushMetrics
	now := time.Unix(1000, 0)
	for _, d := range []time.Duration{500 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, time.Minute} {
		f.flushed(d, 1, nil, now)
	}
	want := map[int]uint64{0: 2, 2: 1, len(flushBuckets): 1} // le=0.001 holds 1ms; above 10s
	for i := range f.buckets {
		if got := f.buckets[i].Load(); got != want[i] {
			t.Errorf("bucket %d: %d, want %d", i, got, want[i])
		}
	}
	if f.lastOK.Load() != 1000 || f.ok.Load() != 4 {
		t.Errorf("lastOK %d ok %d", f.lastOK.Load(), f.ok.Load())
	}
}

func TestLabelsEscape(t *testing.T) {
	if got := labels("a", `x"y\z`+"\n", "b", "c"); got != `{a="x\"y\\z\n",b="c"}` {
		t.Errorf("labels = %s", got)
	}
}

func TestCountingDoesNotAllocate(t *testing.T) {
	h := newHarness(t, Options{})
	r := storeLAN.Requester([]Peer{lanPeer(1, "10.1.1.1", false)})
	peers := []Peer{lanPeer(2, "10.1.1.2", true), lanPeer(3, "10.2.0.3", true)}
	allocs := testing.AllocsPerRun(100, func() {
		h.tr.CountAnnounce(ProtocolHTTP, nil)
		h.tr.CountAnnounce(ProtocolUDP, errNotRegistered)
		h.tr.CountScrape(ProtocolHTTP, nil)
		h.tr.metrics.countReturned(&r, peers)
	})
	if allocs != 0 {
		t.Errorf("counting allocates %v times", allocs)
	}
}

func TestFormatFloat(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 12345678: "12345678", 0.25: "0.25", 1e20: "1e+20"} {
		if got := formatFloat(v); got != want {
			t.Errorf("formatFloat(%v) = %q, want %q", v, got, want)
		}
	}
}
