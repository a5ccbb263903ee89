// Package e2e drives the real seedbed binary the way operators, browsers and
// BitTorrent clients do: through its command line, HTTP API and tracker, with
// real third-party clients (aria2c, Transmission) downloading from it.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/seedbed/seedbed/internal/testenv"
)

// binary is the seedbed executable built once for the whole run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "seedbed-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "seedbed")
	build := exec.Command("go", "build", "-tags", "nosqlite,sqlite_fts5", "-o", binary, "../cmd/seedbed")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build seedbed:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	testenv.Main(m)
}
