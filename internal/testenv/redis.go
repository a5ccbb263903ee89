package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// redisDatabases is how many logical databases the shared server has: one
// per call of Redis in a test binary.
const redisDatabases = 4096

var (
	redisOnce   sync.Once
	redisShared *RedisServer
	redisErr    error
	redisDBSeq  atomic.Int64
)

// Redis returns the URL of a fresh, empty logical database
// ("redis://127.0.0.1:PORT/N") of a throw-away redis-server shared by the
// whole test binary. The server is started on first use on a free port of
// 127.0.0.1 only, with persistence off (an empty --save, --appendonly no). Every
// call gets its own database number, so tests never see each other's keys;
// the database is flushed when the test ends.
//
// Call Main from TestMain so the server is stopped before the binary exits;
// without it a watchdog stops it within about a second after the binary
// exits. If redis-server is missing the test is skipped (failed when CI=true).
func Redis(t testing.TB) string {
	t.Helper()
	Need(t, "redis-server", "redis-server")
	url, db, err := newRedisDB()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := redisShared.command(db, "FLUSHDB"); err != nil {
			t.Logf("testenv: flush redis database %d: %v", db, err)
		}
	})
	return url
}

// RedisDB is Redis for state that outlives one test, such as a benchmark's
// data set filled once and reused by every round: the database is not
// flushed until Main stops the server. Call Need(tb, "redis-server",
// "redis-server") first so a missing server skips instead of failing.
func RedisDB() (string, error) {
	url, _, err := newRedisDB()
	return url, err
}

// newRedisDB starts the shared server if needed and picks the next
// database.
func newRedisDB() (string, int, error) {
	redisOnce.Do(func() {
		path, ok := lookTool("redis-server")
		if !ok {
			redisErr = errors.New("redis-server not found on PATH; install it with: apt-get install redis-server")
			return
		}
		redisShared, redisErr = startRedis(path, redisDatabases)
	})
	if redisErr != nil {
		return "", 0, fmt.Errorf("start redis: %w", redisErr)
	}
	db := int(redisDBSeq.Add(1))
	if db >= redisDatabases {
		return "", 0, fmt.Errorf("more than %d Redis databases asked for in one test binary", redisDatabases-1)
	}
	return redisShared.URL(db), db, nil
}

// StartRedis starts a throw-away redis-server of the test's own, for tests
// that stop and restart it (Stop, Start); Redis is the shared one for
// everything else. It is stopped when the test ends.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	path := Need(t, "redis-server", "redis-server")
	s, err := startRedis(path, 16)
	if err != nil {
		t.Fatalf("testenv: start redis: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Logf("testenv: stop redis: %v", err)
		}
	})
	return s
}

// RedisServer is a running throw-away redis-server.
type RedisServer struct {
	path     string // redis-server
	dir      string // temporary directory: pid file, log
	port     int
	dbs      int
	mu       sync.Mutex
	cmd      *exec.Cmd     // nil while stopped
	exited   chan struct{} // closed when cmd has exited
	watchdog *exec.Cmd
}

// startRedis starts a server on a free port, retrying with another port if
// the first one was taken in the meantime, and its watchdog.
func startRedis(path string, dbs int) (*RedisServer, error) {
	dir, err := os.MkdirTemp("", "seedbed-redis-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	s := &RedisServer{path: path, dir: dir, dbs: dbs}
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err == nil {
			err = s.Start()
		}
		if err == nil || attempt == 2 {
			break
		}
	}
	if err == nil {
		err = s.startWatchdog()
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// URL is the redis:// URL of logical database db.
func (s *RedisServer) URL(db int) string {
	return fmt.Sprintf("redis://127.0.0.1:%d/%d", s.port, db)
}

// Addr is the server's host:port.
func (s *RedisServer) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func (s *RedisServer) pidFile() string { return filepath.Join(s.dir, "redis.pid") }
func (s *RedisServer) logFile() string { return filepath.Join(s.dir, "redis.log") }

// Start starts the server (again) on its port, with no data, and waits
// until it answers PING.
func (s *RedisServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("redis-server is already running")
	}
	cmd := exec.Command(s.path, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--databases", strconv.Itoa(s.dbs),
		"--dir", s.dir, "--pidfile", s.pidFile(), "--logfile", s.logFile())
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.command(0, "PING")
		if err == nil {
			s.cmd, s.exited = cmd, exited
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(s.logFile())
			return fmt.Errorf("redis-server on port %d exited: %s", s.port, tail(log, 2000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on port %d did not answer PING: %w", s.port, err)
		}
	}
}

// Stop kills the server at once (SIGKILL: like a crash, nothing is saved).
func (s *RedisServer) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	err := s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
	os.Remove(s.pidFile())
	if err != nil {
		return fmt.Errorf("kill redis-server: %w", err)
	}
	return nil
}

// Close stops the server and its watchdog and removes its files.
func (s *RedisServer) Close() error {
	if s.watchdog != nil {
		s.watchdog.Process.Kill()
		s.watchdog.Wait()
	}
	err := s.Stop()
	return errors.Join(err, os.RemoveAll(s.dir))
}

// startWatchdog starts a detached shell that kills the server (whichever
// process the pid file names after restarts) and removes its directory once
// this process is gone.
func (s *RedisServer) startWatchdog() error {
	const script = `while [ -d "/proc/$1" ]; do sleep 1; done
[ -f "$2" ] && kill -9 "$(cat "$2")" 2>/dev/null
rm -rf "$3"`
	cmd := exec.Command("/bin/sh", "-c", script, "sh", strconv.Itoa(os.Getpid()), s.pidFile(), s.dir)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start watchdog: %w", err)
	}
	s.watchdog = cmd
	return nil
}

// command sends one argument-less command (PING, FLUSHDB) to database db
// over a fresh connection and checks for a simple "+" reply.
func (s *RedisServer) command(db int, name string) error {
	conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	n := strconv.Itoa(db)
	req := fmt.Sprintf("*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n*1\r\n$%d\r\n%s\r\n", len(n), n, len(name), name)
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	r := bufio.NewReader(conn)
	for range 2 {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+") {
			return fmt.Errorf("%s: %s", name, strings.TrimSpace(line))
		}
	}
	return nil
}

// stopSharedRedis stops the server of Redis, if one was started.
func stopSharedRedis() {
	if redisShared == nil {
		return
	}
	if err := redisShared.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stop redis: %v\n", err)
	}
}
