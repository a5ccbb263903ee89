package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exitCode is a CLI run's exit status (0 when err is nil).
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return ee.ExitCode()
}

// TestVolumeAdminAtRuntime drives `seedbed volume` against a running node:
// a forced volume takes every new upload until released, a readonly volume
// takes none, an added volume is used without a restart, a volume in
// maintenance is never read, and states survive a restart.
func TestVolumeAdminAtRuntime(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "seedbed.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[seedbox]
replicas = 1
[[seedbox.volumes]]
name = "v1"
path = %q
reserve = "1KiB"
[[seedbox.volumes]]
name = "v2"
path = %q
reserve = "1KiB"
`, filepath.Join(dir, "v1"), filepath.Join(dir, "v2"))), 0o644)
	n := startNode(t, nodeOptions{extraEnv: []string{"SEEDBED_CONFIG=" + cfg}})
	token := n.addUser("vera", true)
	seq := uint64(100)
	// upload stores new content and returns the volume it went to.
	upload := func() (ih, volume string) {
		t.Helper()
		seq++
		obj, code := n.upload(token, map[string][]byte{fmt.Sprintf("f%d.bin", seq): retBytes(20<<10, seq)}, nil)
		if code != 201 || len(obj.Replicas) != 1 {
			t.Fatalf("upload: %d %+v", code, obj.Replicas)
		}
		return obj.InfoHash, obj.Replicas[0].Volume
	}
	// settle waits until uploads land on want (the node reads the catalog
	// every 2 s), then checks that the next three do too.
	settle := func(want string) {
		t.Helper()
		waitFor(t, 10*time.Second, "uploads on "+want, func() bool { _, v := upload(); return v == want })
		for range 3 {
			if _, v := upload(); v != want {
				t.Fatalf("upload went to %s, want %s", v, want)
			}
		}
	}
	cli := func(args ...string) string {
		t.Helper()
		out, err := n.cli("", args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	list := cli("volume", "list")
	if !strings.Contains(list, "v1") || !strings.Contains(list, "v2") || strings.Count(list, "node-1") != 2 {
		t.Fatalf("volume list:\n%s", list)
	}
	cli("volume", "force", "v2")
	settle("v2")
	if list := cli("volume", "list"); !strings.Contains(list, "active (forced)") {
		t.Errorf("forced volume not shown:\n%s", list)
	}
	cli("volume", "force", "--off")
	cli("volume", "set", "v2", "--state", "readonly")
	settle("v1")

	v3 := filepath.Join(dir, "v3")
	cli("volume", "add", "v3", v3, "--reserve", "1KiB")
	cli("volume", "set", "v1", "--state", "readonly")
	settle("v3")
	ih, _ := upload()

	if _, err := n.cli("", "volume", "force", "v1"); exitCode(t, err) != 1 {
		t.Errorf("forcing a readonly volume: %v, want exit 1", err)
	}
	if _, err := n.cli("", "volume", "set", "nope", "--state", "active"); exitCode(t, err) != 1 {
		t.Errorf("unknown volume: %v, want exit 1", err)
	}
	if _, err := n.cli("", "volume", "set", "v1", "--state", "broken"); exitCode(t, err) != 2 {
		t.Errorf("bad state: %v, want exit 2", err)
	}
	if _, err := n.cli("", "volume", "force"); exitCode(t, err) != 2 {
		t.Errorf("force without a name: %v, want exit 2", err)
	}

	// Maintenance: never read. The web seed refuses what is only there.
	passkey := n.passkeyOf(token, ih)
	name := fmt.Sprintf("f%d.bin", seq)
	seedURL := n.url + "/webseed/" + passkey + "/" + ih + "/" + name
	if _, code := n.get("", seedURL); code != 200 {
		t.Fatalf("web seed before maintenance: %d", code)
	}
	cli("volume", "set", "v3", "--state", "maintenance")
	waitFor(t, 10*time.Second, "web seed to stop reading v3", func() bool { _, code := n.get("", seedURL); return code == 503 })
	// Nothing can take uploads now: v1 and v2 readonly, v3 in maintenance.
	if _, code := n.upload(token, map[string][]byte{"x.bin": retBytes(1000, 1)}, nil); code != 507 {
		t.Errorf("upload with no active volume: %d, want 507", code)
	}
	cli("volume", "set", "v3", "--state", "active")
	waitFor(t, 10*time.Second, "web seed to read v3 again", func() bool { _, code := n.get("", seedURL); return code == 200 })

	// States set at runtime survive a restart (the config says active).
	n.stop()
	n.start()
	list = cli("volume", "list", "--json")
	for _, want := range []string{`"name": "v1"`, `"name": "v3"`} {
		if !strings.Contains(list, want) {
			t.Errorf("volume list --json lacks %s:\n%s", want, list)
		}
	}
	settle("v3")
	if strings.Count(list, `"state": "readonly"`) != 2 {
		t.Errorf("readonly states lost across the restart:\n%s", list)
	}
}
