package e2e

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// kill is one SIGKILL the test sent: which node, and when.
type killEvent struct {
	node string
	at   time.Time
}

// TestLeaderUnderKills: three nodes run scheduled retention every second.
// The leader and other nodes are SIGKILLed and restarted several times.
// Every retention run records itself in the catalog (job_runs: node, lease
// holder, epoch, start, end, whether the lease was still held at the end),
// so the test can prove from the catalog that no two runs ever overlapped,
// that every finished run held its lease to the end, that each lease epoch
// belonged to one holder and tenures never overlapped, and that leadership
// moved whenever the leader was killed.
func TestLeaderUnderKills(t *testing.T) {
	c := startCluster(t, clusterOptions{nodes: 3, extraConfig: "[retention]\nauto = true\ninterval = \"1s\"\n"})
	ctx := context.Background()
	cat, err := catalog.Open(ctx, catalog.Options{URL: c.dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	since := time.Now().Add(-time.Minute)

	runs := func() []catalog.JobRun {
		t.Helper()
		rs, err := cat.JobRuns(ctx, "retention", since)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	// leaderAfter waits until one node has finished two runs that started
	// after from, and returns its index: the evidence grows with every
	// round however fast or slow the machine is.
	leaderAfter := func(from time.Time, what string) int {
		t.Helper()
		idx := -1
		waitFor(t, 45*time.Second, what, func() bool {
			byNode := map[string]int{}
			for _, r := range runs() {
				if r.StartedAt.After(from) && !r.FinishedAt.IsZero() {
					if byNode[r.Node]++; byNode[r.Node] == 2 {
						idx = nodeIndex(t, r.Node)
						return true
					}
				}
			}
			return false
		})
		return idx
	}

	var kills []killEvent
	leader := leaderAfter(time.Now(), "a first retention run")
	for round := range 6 {
		if round%2 == 1 { // a node that does not lead dies and comes back
			other := (leader + 1 + round%3) % 3
			if other == leader {
				other = (leader + 1) % 3
			}
			kills = append(kills, killEvent{clusterNodeName(other), time.Now()})
			c.kill(other)
			time.Sleep(2 * time.Second)
			c.restart(other)
			leader = leaderAfter(time.Now(), "a retention run after a follower's restart")
			continue
		}
		killed := leader
		at := time.Now()
		kills = append(kills, killEvent{clusterNodeName(killed), at})
		c.kill(killed)
		leader = leaderAfter(at, fmt.Sprintf("a new leader after killing %s", clusterNodeName(killed)))
		if leader == killed {
			t.Fatalf("round %d: leadership did not move from the killed %s", round, clusterNodeName(killed))
		}
		c.restart(killed)
	}
	// A clean stop (SIGTERM) of the leader hands over at once, through the
	// same fenced path: its runs all finish under its lease.
	stopped, at := leader, time.Now()
	c.nodes[stopped].stop()
	if leader = leaderAfter(at, "a new leader after a clean stop"); leader == stopped {
		t.Fatalf("leadership did not move from the stopped %s", clusterNodeName(stopped))
	}
	c.restart(stopped)
	// Let the last leader run a few more times with everyone up.
	last := time.Now()
	waitFor(t, 30*time.Second, "more runs after the last restart", func() bool {
		n := 0
		for _, r := range runs() {
			if r.StartedAt.After(last) && !r.FinishedAt.IsZero() {
				n++
			}
		}
		return n >= 3
	})
	all := runs()
	for _, p := range runProblems(all, kills, time.Now()) {
		t.Error(p)
	}
	t.Logf("%d retention runs, %d kills", len(all), len(kills))
	if t.Failed() {
		for _, r := range all {
			t.Logf("run %d %s epoch %d %s..%s held=%v %s", r.ID, r.Holder, r.Epoch, r.StartedAt.Format(time.StampMicro),
				r.FinishedAt.Format(time.StampMicro), r.Held != nil && *r.Held, r.Error)
		}
	}
}

// nodeIndex maps "node-2" to 1.
func nodeIndex(t *testing.T, name string) int {
	t.Helper()
	for i := range 3 {
		if clusterNodeName(i) == name {
			return i
		}
	}
	t.Fatalf("unknown node %q", name)
	return -1
}

// runProblems lists what disproves "one leader at a time" in runs: two
// runs that overlap, a run that outlived its lease, an epoch with two
// holders, overlapping tenures, or too little evidence. A run without an
// end was cut by a SIGKILL of its node (it ended at the latest at that
// kill) or is running as the runs were read at queried.
func runProblems(runs []catalog.JobRun, kills []killEvent, queried time.Time) []string {
	var problems []string
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	type span struct {
		from, to time.Time
		run      catalog.JobRun
	}
	var spans []span
	holders := map[string]bool{}
	for _, r := range runs {
		holders[r.Holder] = true
		if !strings.HasPrefix(r.Holder, r.Node+"/") {
			errorf("run %d: holder %q is not of node %q", r.ID, r.Holder, r.Node)
		}
		end := r.FinishedAt
		if end.IsZero() {
			killedAt, err := killAfter(kills, r.Node, r.StartedAt)
			if err != nil && queried.Sub(r.StartedAt) < 10*time.Second {
				killedAt, err = queried, nil // still running
			}
			if err != nil {
				errorf("run %d by %s (epoch %d) never finished: %v", r.ID, r.Holder, r.Epoch, err)
				continue
			}
			end = killedAt
		} else if r.Held == nil || !*r.Held {
			errorf("run %d by %s (epoch %d) outlived its lease", r.ID, r.Holder, r.Epoch)
		}
		if end.Before(r.StartedAt) {
			errorf("run %d ends before it starts", r.ID)
		}
		spans = append(spans, span{r.StartedAt, end, r})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from.Before(spans[j].from) })
	for i := 1; i < len(spans); i++ {
		if p, s := spans[i-1], spans[i]; s.from.Before(p.to) {
			errorf("runs overlap: %d by %s [%s, %s] and %d by %s [%s, %s]", p.run.ID, p.run.Holder,
				p.from.Format(time.StampMicro), p.to.Format(time.StampMicro), s.run.ID, s.run.Holder,
				s.from.Format(time.StampMicro), s.to.Format(time.StampMicro))
		}
	}

	// Tenures: every epoch belongs to one holder, epochs only grow, and
	// one holder's tenure ends before the next one's begins.
	type tenure struct {
		holder   string
		from, to time.Time
	}
	byEpoch := map[int64]*tenure{}
	var epochs []int64
	for _, s := range spans {
		e := s.run.Epoch
		tn, ok := byEpoch[e]
		if !ok {
			tn = &tenure{holder: s.run.Holder, from: s.from}
			byEpoch[e] = tn
			epochs = append(epochs, e)
		}
		if tn.holder != s.run.Holder {
			errorf("epoch %d has two holders: %s and %s", e, tn.holder, s.run.Holder)
		}
		if s.to.After(tn.to) {
			tn.to = s.to
		}
	}
	for i := 1; i < len(epochs); i++ {
		prev, cur := byEpoch[epochs[i-1]], byEpoch[epochs[i]]
		if epochs[i] < epochs[i-1] {
			errorf("epoch %d ran after epoch %d", epochs[i], epochs[i-1])
		}
		if cur.from.Before(prev.to) {
			errorf("tenures overlap: %s (epoch %d) until %s, %s (epoch %d) from %s", prev.holder, epochs[i-1],
				prev.to.Format(time.StampMicro), cur.holder, epochs[i], cur.from.Format(time.StampMicro))
		}
	}
	leaderKills := 0
	for _, k := range kills {
		for _, s := range spans {
			if s.run.Node == k.node && !s.from.After(k.at) && !s.to.Before(k.at.Add(-2*time.Second)) {
				leaderKills++ // it ran within 2 s before its kill: it was leading
				break
			}
		}
	}
	if len(runs) < 15 || len(holders) < 3 || leaderKills < 3 {
		errorf("too little evidence: %d runs by %d holders over %d epochs, %d kills of which %d of the leader",
			len(runs), len(holders), len(epochs), len(kills), leaderKills)
	}
	return problems
}

// killAfter returns the first kill of node at or after from.
func killAfter(kills []killEvent, node string, from time.Time) (time.Time, error) {
	for _, k := range kills {
		if k.node == node && !k.at.Before(from) {
			return k.at, nil
		}
	}
	return time.Time{}, errors.New("and its node was not killed after it started")
}

// TestRunProblems: the checker of TestLeaderUnderKills catches what it must.
func TestRunProblems(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	yes := true
	no := false
	var good []catalog.JobRun
	var kills []killEvent
	for i := range 21 { // seven runs each by node-1, node-2, node-3, each killed after its last
		node := clusterNodeName(i / 7)
		start := base.Add(time.Duration(i) * time.Second)
		good = append(good, catalog.JobRun{ID: uint64(i + 1), Node: node, Holder: node + "/x", Epoch: int64(i/7 + 1),
			StartedAt: start, FinishedAt: start.Add(100 * time.Millisecond), Held: &yes})
		if i%7 == 6 {
			kills = append(kills, killEvent{node, start.Add(500 * time.Millisecond)})
		}
	}
	if p := runProblems(good, kills, base.Add(time.Hour)); len(p) != 0 {
		t.Fatalf("good runs: %v", p)
	}
	mutate := func(fn func(rs []catalog.JobRun) []catalog.JobRun) []catalog.JobRun {
		rs := append([]catalog.JobRun(nil), good...)
		return fn(rs)
	}
	cases := map[string][]catalog.JobRun{
		"overlap": mutate(func(rs []catalog.JobRun) []catalog.JobRun {
			rs[7].StartedAt = rs[6].StartedAt.Add(50 * time.Millisecond)
			return rs
		}),
		"outlived": mutate(func(rs []catalog.JobRun) []catalog.JobRun { rs[3].Held = &no; return rs }),
		"two holders": mutate(func(rs []catalog.JobRun) []catalog.JobRun {
			rs[7].Epoch = 1
			return rs
		}),
		"never finished": mutate(func(rs []catalog.JobRun) []catalog.JobRun {
			rs[3].FinishedAt, rs[3].Held = time.Time{}, nil
			return rs
		}),
		"too little evidence": good[:10],
	}
	for name, rs := range cases {
		if p := runProblems(rs, kills, base.Add(time.Hour)); len(p) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}
