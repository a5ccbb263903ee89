package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedbed/seedbed/internal/testenv"
	"github.com/seedbed/seedbed/internal/udpload"
)

// trackerBenchConfig sizes TestBenchThreeNodeTracker: full under `make
// bench` (SEEDBED_BENCH=1), tiny under `make test` so it never rots.
type trackerBenchConfig struct {
	rounds, users, torrents, peers int
	duration                       time.Duration
	sockets, window                int // UDP, per node
	conns                          int // HTTP keep-alive connections per node
	ihFile, pkFile                 string
}

func threeNodeBenchConfig() trackerBenchConfig {
	if os.Getenv("SEEDBED_BENCH") == "1" {
		c := trackerBenchConfig{rounds: 5, users: 1000, torrents: 10000, peers: 100000,
			duration: 10 * time.Second, sockets: 4, window: 16, conns: 16}
		if n, err := strconv.Atoi(os.Getenv("SEEDBED_BENCH_ROUNDS")); err == nil && n > 0 {
			c.rounds = n
		}
		return c
	}
	return trackerBenchConfig{rounds: 1, users: 10, torrents: 50, peers: 500,
		duration: time.Second, sockets: 1, window: 4, conns: 2}
}

// TestBenchThreeNodeTracker measures issue 6's tracker target in one run
// on one machine: UDP announces per second of ONE `seedbed tracker` with
// the in-memory store, and of THREE with the Redis store (one Redis), each
// of the three loaded by its own load generator at the same time; per node
// is the three's total / 3. Same load generator (internal/udpload, as
// cmd/seedbed-udpload: every reply checked as a real peer list), same
// settings per node, same catalog (PostgreSQL: users, torrents, passkeys),
// swarms pre-filled with the same number of peers. Rounds alternate which
// setup goes first; the report shows medians. Then over HTTP the same way,
// with wrk and bench/announce.lua (keep-alive), when wrk is installed. A
// third setup, one node alone on the Redis store, tells the store's own
// cost from the three nodes' sharing of this machine's cores.
//
// It also reports CPU per announce, from /proc: seedbed's (the nodes')
// and Redis's. On a machine with fewer cores than processes, three nodes
// share the cores one node had alone, so per node throughput there says
// more about the machine than about the store; announces per CPU second
// of a node is what a node on its own machine would scale by.
func TestBenchThreeNodeTracker(t *testing.T) {
	cfg := threeNodeBenchConfig()
	dsn := testenv.Postgres(t)
	work := t.TempDir()
	fixture := exec.Command("go", "run", "-tags", "nosqlite,sqlite_fts5", "../bench/cmd/trackerfixture",
		"-database-url", dsn, "-data", work, "-out", work,
		"-users", strconv.Itoa(cfg.users), "-torrents", strconv.Itoa(cfg.torrents))
	if out, err := fixture.CombinedOutput(); err != nil {
		t.Fatalf("trackerfixture: %v: %s", err, out)
	}
	cfg.ihFile, cfg.pkFile = filepath.Join(work, "infohashes.txt"), filepath.Join(work, "passkeys.txt")
	ihs, pks := readBenchLines(t, cfg.ihFile), readBenchLines(t, cfg.pkFile)
	load := udpload.Options{Passkeys: pks, Sockets: cfg.sockets, Window: cfg.window, Duration: cfg.duration}
	for _, l := range ihs {
		var ih [20]byte
		if _, err := hex.Decode(ih[:], []byte(l)); err != nil {
			t.Fatal(err)
		}
		load.InfoHashes = append(load.InfoHashes, ih)
	}

	mem, redis, redis1 := map[string][]trackerBenchRun{}, map[string][]trackerBenchRun{}, map[string][]trackerBenchRun{}
	for round := range cfg.rounds {
		setups := []func(){
			func() { appendRuns(mem, benchTrackerNodes(t, dsn, "", 1, cfg, load)) },
			func() { appendRuns(redis, benchTrackerNodes(t, dsn, fmt.Sprintf("round%d:", round), 3, cfg, load)) },
		}
		if round%2 == 1 {
			slices.Reverse(setups)
		}
		// For the diagnosis: one node on the Redis store, alone.
		setups = append(setups, func() { appendRuns(redis1, benchTrackerNodes(t, dsn, fmt.Sprintf("one%d:", round), 1, cfg, load)) })
		for _, setup := range setups {
			setup()
		}
		for _, proto := range []string{"udp", "http"} {
			if m, r := mem[proto], redis[proto]; len(r) > round {
				t.Logf("round %d %s: memory 1 node %.0f/s; redis 3 nodes %.0f/s per node %.0f; ratio %.2fx",
					round+1, proto, m[round].perNode, r[round].perNode, r[round].rates, r[round].perNode/m[round].perNode)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nissue 6 tracker, medians of %d rounds, %v per run, %d peers in %d torrents, %d passkeys; per node: UDP %d sockets x %d in flight, HTTP %d keep-alive connections\n",
		cfg.rounds, cfg.duration, cfg.peers, cfg.torrents, cfg.users, cfg.sockets, cfg.window, cfg.conns)
	fmt.Fprintf(&b, "| measure | 1 node, memory store | 3 nodes, Redis store | 3 Redis / 1 memory | 1 node, Redis store |\n|---|---|---|---|---|\n")
	for _, proto := range []string{"udp", "http"} {
		if len(redis[proto]) == 0 {
			continue
		}
		m, r, o, p := medianRun(mem[proto]), medianRun(redis[proto]), medianRun(redis1[proto]), strings.ToUpper(proto)
		fmt.Fprintf(&b, "| %s announces/s per node | %.0f | %.0f | **%.2fx** | %.0f |\n", p, m.perNode, r.perNode, r.perNode/m.perNode, o.perNode)
		fmt.Fprintf(&b, "| %s announces/s, all nodes | %.0f | %.0f | %.2fx | %.0f |\n", p, m.total, r.total, r.total/m.total, o.total)
		fmt.Fprintf(&b, "| %s seedbed CPU µs per announce | %.1f | %.1f | %.2fx | %.1f |\n", p, m.nodeCPU, r.nodeCPU, r.nodeCPU/m.nodeCPU, o.nodeCPU)
		fmt.Fprintf(&b, "| %s Redis CPU µs per announce | - | %.1f | | %.1f |\n", p, r.redisCPU, o.redisCPU)
		fmt.Fprintf(&b, "| %s p99 latency (µs), worst node | %.0f | %.0f | %.2fx | %.0f |\n", p, m.p99, r.p99, r.p99/m.p99, o.p99)
	}
	t.Log(b.String())
}

func appendRuns(to map[string][]trackerBenchRun, runs map[string]trackerBenchRun) {
	for k, v := range runs {
		to[k] = append(to[k], v)
	}
}

// trackerBenchRun is one measured run of one setup.
type trackerBenchRun struct {
	rates             []float64
	total, perNode    float64
	nodeCPU, redisCPU float64 // µs of CPU per valid announce
	p99               float64 // µs, worst node
}

// benchTrackerNodes starts n tracker nodes (with a Redis of their own when
// prefix is set), fills the swarms through the first, then loads every
// node at once with its own generator: over UDP, then (with wrk) over HTTP.
func benchTrackerNodes(t *testing.T, dsn, prefix string, n int, cfg trackerBenchConfig, load udpload.Options) map[string]trackerBenchRun {
	t.Helper()
	dir := t.TempDir()
	toml := "log_level = \"warn\"\n[tracker]\nannounce_rate = 1000000\nannounce_burst = 1000000\n"
	var redisPID int
	if prefix != "" {
		srv := testenv.StartRedis(t)
		redisPID = pidByCmdline(t, "redis-server", srv.Addr()[strings.LastIndex(srv.Addr(), ":")+1:])
		toml += fmt.Sprintf("redis_url = %q\nredis_prefix = %q\n", srv.URL(0), prefix)
	}
	conf := filepath.Join(dir, "seedbed.toml")
	if err := os.WriteFile(conf, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	var nodes []*node
	var addrs []string
	for i := range n {
		ip := clusterIP(i)
		addr := fmt.Sprintf("%s:%d", ip, freeUDPPort(t, ip))
		nodes = append(nodes, startNode(t, nodeOptions{databaseURL: dsn, ip: ip, part: "tracker",
			extraEnv: []string{"SEEDBED_CONFIG=" + conf, "SEEDBED_UDP_ADDR=" + addr,
				"SEEDBED_ANNOUNCE_INTERVAL=30m", "SEEDBED_NODE=" + clusterNodeName(i)}}))
		addrs = append(addrs, addr)
	}
	defer func() {
		for _, nd := range nodes {
			nd.stop()
		}
	}()
	fill := load
	fill.Addr, fill.Fill, fill.Window, fill.Duration, fill.Seed = addrs[0], cfg.peers, 64, 5*time.Minute, 1
	if res, err := udpload.Run(context.Background(), fill); err != nil || res.OK < int64(cfg.peers) {
		t.Fatalf("fill %d peers: %+v %v", cfg.peers, res, err)
	}

	pids := make([]int, n)
	for i, nd := range nodes {
		pids[i] = nd.cmd.Process.Pid
	}
	runs := map[string]trackerBenchRun{"udp": measureNodes(t, n, pids, redisPID, func(i int) (loadResult, error) {
		o := load
		o.Addr = addrs[i]
		res, err := udpload.Run(context.Background(), o)
		if err == nil && (res.Invalid > 0 || res.OK == 0) {
			err = fmt.Errorf("%d valid, %d invalid replies (first: %q)", res.OK, res.Invalid, res.FirstErr)
		}
		if err != nil {
			return loadResult{}, fmt.Errorf("udp load on %s: %w", addrs[i], err)
		}
		return loadResult{rate: res.Rate(), ok: res.OK, p99: float64(res.Latency(0.99).Microseconds())}, nil
	})}
	if wrk, err := exec.LookPath("wrk"); err == nil {
		runs["http"] = measureNodes(t, n, pids, redisPID, func(i int) (loadResult, error) {
			return runWrk(wrk, nodes[i].url, cfg)
		})
	} else {
		t.Logf("wrk not found (apt-get install -y wrk): HTTP not measured")
	}
	return runs
}

// loadResult is what one load generator measured against one node.
type loadResult struct {
	rate float64 // valid announces per second
	ok   int64   // valid announces
	p99  float64 // µs
}

// measureNodes loads every node at once, node i with one(i), and reads
// the CPU the nodes and Redis spent meanwhile.
func measureNodes(t *testing.T, n int, pids []int, redisPID int, one func(i int) (loadResult, error)) trackerBenchRun {
	t.Helper()
	cpu0, redis0 := cpuTicks(t, pids...), cpuTicks(t, redisPID)
	results := make([]loadResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = one(i) }()
	}
	wg.Wait()
	cpu1, redis1 := cpuTicks(t, pids...), cpuTicks(t, redisPID)
	var run trackerBenchRun
	var ok int64
	for i, res := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		run.rates = append(run.rates, res.rate)
		run.total += res.rate
		run.p99 = max(run.p99, res.p99)
		ok += res.ok
	}
	run.perNode = run.total / float64(n)
	run.nodeCPU = ticksToMicros(cpu1-cpu0) / float64(ok)
	if redisPID != 0 {
		run.redisCPU = ticksToMicros(redis1-redis0) / float64(ok)
	}
	return run
}

// runWrk loads one node's HTTP announce with wrk and bench/announce.lua
// (keep-alive), which checks every reply as a real peer list.
func runWrk(wrk, baseURL string, cfg trackerBenchConfig) (loadResult, error) {
	script, err := filepath.Abs("../bench/announce.lua")
	if err != nil {
		return loadResult{}, err
	}
	cmd := exec.Command(wrk, "-t1", fmt.Sprintf("-c%d", cfg.conns), fmt.Sprintf("-d%ds", int(cfg.duration.Seconds())), "-s", script, baseURL)
	cmd.Env = append(os.Environ(), "BENCH_INFOHASHES="+cfg.ihFile, "BENCH_PASSKEYS="+cfg.pkFile, "BENCH_CLOSE=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk %s: %w: %s", baseURL, err, out)
	}
	f := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "rate=") {
			for _, kv := range strings.Fields(line) {
				k, v, _ := strings.Cut(kv, "=")
				f[k] = v
			}
		}
	}
	var r loadResult
	r.rate, _ = strconv.ParseFloat(f["rate"], 64)
	r.ok, _ = strconv.ParseInt(f["ok"], 10, 64)
	r.p99, _ = strconv.ParseFloat(f["p99_us"], 64)
	if f["invalid"] != "0" || r.ok == 0 {
		return r, fmt.Errorf("wrk %s: invalid replies: %s", baseURL, out)
	}
	return r, nil
}

// medianRun is the median of each measure on its own.
func medianRun(runs []trackerBenchRun) trackerBenchRun {
	med := func(f func(trackerBenchRun) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 0 {
			return (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		return v[len(v)/2]
	}
	return trackerBenchRun{
		total:    med(func(r trackerBenchRun) float64 { return r.total }),
		perNode:  med(func(r trackerBenchRun) float64 { return r.perNode }),
		nodeCPU:  med(func(r trackerBenchRun) float64 { return r.nodeCPU }),
		redisCPU: med(func(r trackerBenchRun) float64 { return r.redisCPU }),
		p99:      med(func(r trackerBenchRun) float64 { return r.p99 }),
	}
}

func readBenchLines(t *testing.T, path string) []string {
	t.Helper()
	lines, err := udpload.ReadLines(path)
	if err != nil || len(lines) == 0 {
		t.Fatalf("read %s: %v (%d lines)", path, err, len(lines))
	}
	return lines
}

// cpuTicks sums user and system CPU time of the processes (0s are
// skipped), in clock ticks (USER_HZ, 100 a second on Linux).
func cpuTicks(t *testing.T, pids ...int) int64 {
	t.Helper()
	var sum int64
	for _, pid := range pids {
		if pid == 0 {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		// Fields after the command name (which may hold spaces): state is
		// field 3, utime 14, stime 15.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		sum += ut + st
	}
	return sum
}

func ticksToMicros(ticks int64) float64 { return float64(ticks) * 1e6 / 100 }

// pidByCmdline finds the process named name listening on port, by its
// command line ("--port N", or "host:N" once Redis has renamed itself).
func pidByCmdline(t *testing.T, name, port string) int {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil || !bytes.Contains(b, []byte(name)) ||
			!(bytes.Contains(b, []byte("\x00"+port+"\x00")) || bytes.Contains(b, []byte(":"+port))) {
			continue
		}
		pid, _ := strconv.Atoi(strings.Split(d, "/")[2])
		return pid
	}
	t.Logf("no %s process on port %s found: its CPU is not measured", name, port)
	return 0
}
