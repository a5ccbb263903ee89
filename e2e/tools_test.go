package e2e

import (
	"os/exec"
	"testing"

	"github.com/seedbed/seedbed/internal/testenv"
)

func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	return testenv.Need(t, name, pkg)
}

func runTool(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	}
}
