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

// libtorrentPython returns a Python interpreter that can import Debian's
// python3-libtorrent: /usr/bin/python3 first, since a python3 earlier on
// PATH (pyenv, a venv) does not see Debian's packages.
func libtorrentPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import libtorrent").Run() == nil {
			return py
		}
	}
	needTool(t, "python3-with-libtorrent", "python3-libtorrent")
	return ""
}
