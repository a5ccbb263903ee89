package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pgSuperuser is the superuser created by initdb; it logs in without a
// password (trust authentication on 127.0.0.1 only).
const pgSuperuser = "postgres"

var (
	pgOnce    sync.Once
	pgCluster *cluster
	pgErr     error
	pgDBSeq   atomic.Int64
)

// Postgres returns the DSN of a new, empty database
// ("postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable") in a throw-away
// PostgreSQL cluster shared by the whole test binary. The cluster is created
// with initdb in a temporary directory on first use, listens on a free port of
// 127.0.0.1 only and runs with fsync off. When the tests run as root, the
// cluster runs as the OS user postgres (or nobody).
//
// The database is dropped when the test ends. Call Main from TestMain so the
// cluster is stopped before the binary exits (see the package doc). If the
// PostgreSQL server binaries are missing the test is skipped (failed when
// CI=true).
func Postgres(t testing.TB) string {
	t.Helper()
	tools := make(map[string]string)
	for _, tool := range []string{"initdb", "pg_ctl", "postgres", "createdb", "dropdb"} {
		tools[tool] = Require(t, tool)
	}
	pgOnce.Do(func() { pgCluster, pgErr = startCluster(tools) })
	if pgErr != nil {
		t.Fatalf("testenv: start postgres: %v", pgErr)
	}
	name := fmt.Sprintf("t%d_%s", pgDBSeq.Add(1), sanitizeDBName(t.Name()))
	if err := pgCluster.run("createdb", name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := pgCluster.run("dropdb", "--force", name); err != nil {
			t.Logf("testenv: %v", err)
		}
	})
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", pgSuperuser, pgCluster.port, name)
}

// Main runs the tests, then stops the shared PostgreSQL cluster and Redis
// server (those that were started) and removes their files, and exits with
// the tests' exit code. Use it as the whole body of TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	stopSharedRedis()
	if pgCluster != nil {
		if err := pgCluster.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stop postgres: %v\n", err)
		}
	}
	os.Exit(code)
}

// cluster is a running throw-away PostgreSQL cluster.
type cluster struct {
	tools    map[string]string // tool name -> path
	dir      string            // temporary directory: data/, postgres.log, the socket
	port     int
	cred     *syscall.Credential // run server tools as this user; nil: as ourselves
	watchdog *exec.Cmd
}

// startCluster runs initdb and pg_ctl start, retrying with another port if
// the first one was taken in the meantime.
func startCluster(tools map[string]string) (*cluster, error) {
	// Use the client and server tools of one installation: /usr/local/bin
	// may hold symlinks into /usr/lib/postgresql/<version>/bin.
	if initdb, err := filepath.EvalSymlinks(tools["initdb"]); err == nil {
		for tool := range tools {
			if path := filepath.Join(filepath.Dir(initdb), tool); isExecutable(path) {
				tools[tool] = path
			}
		}
	}
	dir, err := os.MkdirTemp("", "seedbed-pg-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	c := &cluster{tools: tools, dir: dir}
	if os.Geteuid() == 0 {
		if c.cred, err = unprivilegedUser(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	if err := c.exec("initdb", "-D", c.dataDir(), "-U", pgSuperuser, "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err == nil {
			err = c.start()
		}
		if err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.startWatchdog(); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *cluster) logFile() string { return filepath.Join(c.dir, "postgres.log") }

// start runs pg_ctl start and waits until the server accepts connections.
func (c *cluster) start() error {
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k '%s' -F -c max_connections=300 "+
		"-c synchronous_commit=off -c full_page_writes=off", c.port, c.dir)
	err := c.exec("pg_ctl", "-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", "60", "-o", opts, "start")
	if err != nil {
		log, _ := os.ReadFile(c.logFile())
		return fmt.Errorf("%w\npostgres.log:\n%s", err, tail(log, 2000))
	}
	return nil
}

// startWatchdog starts a detached shell that stops the cluster and removes
// its directory once this process is gone, for test binaries that do not use
// Main or die early.
func (c *cluster) startWatchdog() error {
	const script = `while [ -d "/proc/$1" ]; do sleep 1; done
"$2" -D "$3" -m immediate -w stop >/dev/null 2>&1
rm -rf "$4"`
	cmd := exec.Command("/bin/sh", "-c", script, "sh",
		strconv.Itoa(os.Getpid()), c.tools["pg_ctl"], c.dataDir(), c.dir)
	cmd.Dir = c.dir
	cmd.Env = c.env()
	// Own session: a Ctrl-C to the test's process group must not kill it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: c.cred}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start watchdog: %w", err)
	}
	c.watchdog = cmd
	return nil
}

// stop stops the server immediately and removes the cluster's files.
func (c *cluster) stop() error {
	if c.watchdog != nil {
		c.watchdog.Process.Kill()
		c.watchdog.Wait()
	}
	err := c.exec("pg_ctl", "-D", c.dataDir(), "-m", "immediate", "-w", "stop")
	if rmErr := os.RemoveAll(c.dir); err == nil {
		err = rmErr
	}
	return err
}

// run runs a client tool (createdb, dropdb) against the cluster.
func (c *cluster) run(tool string, args ...string) error {
	args = append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", pgSuperuser}, args...)
	cmd := exec.Command(c.tools[tool], args...)
	cmd.Env = c.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// exec runs a server tool (initdb, pg_ctl) as the cluster's OS user.
func (c *cluster) exec(tool string, args ...string) error {
	cmd := exec.Command(c.tools[tool], args...)
	cmd.Dir = c.dir
	cmd.Env = c.env()
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl start leaves the server holding its stdout; do not wait for it.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", tool, err, tail(out.Bytes(), 2000))
	}
	return nil
}

// env is our environment without PG* variables that would redirect the tools.
func (c *cluster) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG=") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

// unprivilegedUser returns the credentials of the postgres OS user, or of
// nobody: PostgreSQL refuses to run as root.
func unprivilegedUser() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return nil, fmt.Errorf("running as root and neither a postgres nor a nobody user exists to run the server")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// sanitizeDBName turns a test name into a short lowercase identifier part.
func sanitizeDBName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if b.Len() >= 40 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// tail returns at most the last n bytes of b as a string.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
