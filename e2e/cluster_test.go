package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/seedbed/seedbed/internal/testenv"
)

// clusterOptions shapes a multi-node test cluster.
type clusterOptions struct {
	nodes    int      // default 3
	replicas int      // seedbox.replicas; default the node count
	extraEnv []string // added to every node's environment
	// extraConfig is appended to every node's TOML config (after the
	// [seedbox] section and its volume; start with a [section] header).
	extraConfig string
}

// cluster is several whole `seedbed serve` nodes, each on its own loopback
// address (127.0.1.1, 127.0.1.2, …), sharing one throw-away PostgreSQL
// catalog and one Redis, each with one volume of its own (all named
// clusterVolume).
type cluster struct {
	t        *testing.T
	dsn      string
	redisURL string
	nodes    []*node
	volumes  []string // volume folder of each node
}

// clusterIP is the loopback address of node i (0-based).
func clusterIP(i int) string { return fmt.Sprintf("127.0.1.%d", i+1) }

// clusterVolume is the name of every node's volume: the same on each, since
// a volume is named by (node, name).
const clusterVolume = "default"

// clusterNodeName is the configured name of node i (0-based): node-1, ….
func clusterNodeName(i int) string { return fmt.Sprintf("node-%d", i+1) }

// startCluster starts the nodes one after another (the first one runs the
// migrations) and dumps every node's log when the test fails.
func startCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	if o.nodes == 0 {
		o.nodes = 3
	}
	if o.replicas == 0 {
		o.replicas = o.nodes
	}
	c := &cluster{t: t, dsn: testenv.Postgres(t), redisURL: testenv.Redis(t)}
	for i := 0; i < o.nodes; i++ {
		dir := t.TempDir()
		vol := filepath.Join(dir, "vol")
		cfg := fmt.Sprintf("[seedbox]\nnode = %q\nreplicas = %d\ncheck_interval = \"1s\"\n"+
			"[[seedbox.volumes]]\nname = %q\npath = %q\nreserve = \"1MiB\"\n%s",
			clusterNodeName(i), o.replicas, clusterVolume, vol, o.extraConfig)
		path := filepath.Join(dir, "seedbed.toml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		env := append([]string{"SEEDBED_REDIS_URL=" + c.redisURL, "SEEDBED_CONFIG=" + path}, o.extraEnv...)
		c.nodes = append(c.nodes, startNode(t, nodeOptions{databaseURL: c.dsn, ip: clusterIP(i), extraEnv: env}))
		c.volumes = append(c.volumes, vol)
	}
	// Registered after the nodes' temp dirs, so it runs before they go
	// (cleanups run last in, first out).
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range c.nodes {
				n.dumpLog()
			}
		}
	})
	return c
}

// kill sends SIGKILL to node i and waits for it to die: no clean shutdown.
func (c *cluster) kill(i int) {
	n := c.nodes[i]
	if n.cmd == nil || n.cmd.Process == nil || n.cmd.ProcessState != nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	n.cmd.Wait()
}

// restart starts node i again on the same addresses, config and data.
func (c *cluster) restart(i int) { c.nodes[i].start() }
