// Package testenv provides throw-away external services and tool lookups for
// tests.
//
// Tools: Need and Require find an executable on PATH (and in
// /usr/lib/postgresql/*/bin, where Debian keeps the PostgreSQL server
// binaries). A missing tool skips the test with a message naming the Debian
// package to install, or fails it when the environment variable CI is true, so
// a CI image that lacks a tool cannot pass silently.
//
// PostgreSQL: Postgres starts one cluster per test binary on first use and
// hands every caller a fresh, empty database in it. Packages that call
// Postgres should wrap their tests with Main so the cluster is stopped and its
// files removed before the binary exits:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Redis: Redis starts one redis-server per test binary on first use and
// hands every caller its own logical database; StartRedis gives a test a
// server of its own that it can stop and restart. Main stops them too.
//
// Without Main the cluster is still stopped, by a watchdog process, within
// about a second after the test binary exits (also after a panic, a timeout
// or Ctrl-C).
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// pgBinGlob is where Debian's postgresql packages install the server tools,
// which are not on PATH.
const pgBinGlob = "/usr/lib/postgresql/*/bin"

// debianPackages maps tools used by our tests to the Debian package that
// provides them.
var debianPackages = map[string]string{
	"initdb":              "postgresql",
	"pg_ctl":              "postgresql",
	"postgres":            "postgresql",
	"createdb":            "postgresql-client",
	"dropdb":              "postgresql-client",
	"psql":                "postgresql-client",
	"redis-server":        "redis-server",
	"redis-cli":           "redis-tools",
	"aria2c":              "aria2",
	"transmission-daemon": "transmission-daemon",
	"chromium":            "chromium",
	"runuser":             "util-linux",
}

// Require returns the absolute path of tool, or skips the test (fails it when
// CI=true) if the tool is not installed. It knows the Debian package of the
// tools our tests use and falls back to the tool's own name.
func Require(t testing.TB, tool string) string {
	t.Helper()
	pkg, ok := debianPackages[tool]
	if !ok {
		pkg = tool
	}
	return Need(t, tool, pkg)
}

// Need returns the absolute path of the executable name, looked up on PATH
// and then in /usr/lib/postgresql/*/bin (newest version first). If it is
// missing the test is skipped with a message naming debianPackage, or failed
// when the environment variable CI is true.
func Need(t testing.TB, name, debianPackage string) string {
	t.Helper()
	if path, ok := lookTool(name); ok {
		return path
	}
	msg := name + " not found on PATH or in " + pgBinGlob +
		"; install it with: apt-get install " + debianPackage
	if inCI() {
		t.Fatalf("testenv: %s (CI=true, so this fails instead of skipping)", msg)
		return ""
	}
	t.Skipf("testenv: %s", msg)
	return ""
}

// lookTool finds name on PATH or in Debian's PostgreSQL bin directories.
func lookTool(name string) (string, bool) {
	if path, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(path); err == nil {
			return abs, true
		}
		return path, true
	}
	for _, dir := range pgBinDirs() {
		path := filepath.Join(dir, name)
		if isExecutable(path) {
			return path, true
		}
	}
	return "", false
}

// pgBinDirs lists /usr/lib/postgresql/<version>/bin, newest version first.
func pgBinDirs() []string {
	dirs, _ := filepath.Glob(pgBinGlob)
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return dirs
}

// inCI reports whether the environment variable CI is set to a true value.
func inCI() bool {
	v, err := strconv.ParseBool(strings.TrimSpace(os.Getenv("CI")))
	return err == nil && v
}

// isExecutable reports whether path is an executable regular file.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
