package testenv

import (
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// fakeTB records Skipf and Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = format }
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = format }

func TestNeed(t *testing.T) {
	tests := []struct {
		name, tool, ci      string
		wantPath            bool
		wantSkip, wantFatal bool
	}{
		{name: "on PATH", tool: "sh", wantPath: true},
		{name: "missing skips", tool: "seedbed-no-such-tool", wantSkip: true},
		{name: "missing fails in CI", tool: "seedbed-no-such-tool", ci: "true", wantFatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			f := &fakeTB{TB: t}
			path := Need(f, tt.tool, "some-package")
			if got := path != ""; got != tt.wantPath {
				t.Errorf("path = %q, want found=%v", path, tt.wantPath)
			}
			if got := f.skipped != ""; got != tt.wantSkip {
				t.Errorf("skipped = %v, want %v", got, tt.wantSkip)
			}
			if got := f.failed != ""; got != tt.wantFatal {
				t.Errorf("failed = %v, want %v", got, tt.wantFatal)
			}
		})
	}
}

func TestRequireFindsPostgresServerTools(t *testing.T) {
	path := Require(t, "pg_ctl")
	if !strings.HasSuffix(path, "/pg_ctl") {
		t.Fatalf("Require(pg_ctl) = %q", path)
	}
}

func TestPostgres(t *testing.T) {
	a, b := Postgres(t), Postgres(t)
	if a == b {
		t.Fatalf("two calls returned the same database %q", a)
	}
	psql := Require(t, "psql")
	for _, dsn := range []string{a, b} {
		out, err := exec.Command(psql, dsn, "-XAtc", "select current_setting('fsync')").CombinedOutput()
		if err != nil {
			t.Fatalf("psql %s: %v: %s", dsn, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "off" {
			t.Errorf("fsync = %q, want off", got)
		}
	}
}
