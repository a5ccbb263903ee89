package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestStorageCommands runs `seedbed volume` and `seedbed retention` against
// an empty data dir (no node ever ran): usage errors exit 2, failures 1
// with one line, and the empty catalog gives an empty plan.
func TestStorageCommands(t *testing.T) {
	data := t.TempDir()
	t.Setenv("SEEDBED_DATA_DIR", data)
	t.Setenv("SEEDBED_CONFIG", "")
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"retention alone", []string{"retention"}, 2, "", "usage"},
		{"retention unknown", []string{"retention", "purge-all"}, 2, "", "usage"},
		{"retention extra arg", []string{"retention", "plan", "x"}, 2, "", "usage"},
		{"empty plan", []string{"retention", "plan"}, 0, "0 torrent(s) to purge", ""},
		{"empty apply", []string{"retention", "apply"}, 0, "0 torrent(s) purged", ""},
		{"empty log", []string{"retention", "log"}, 0, "RULE", ""},
		{"volume alone", []string{"volume"}, 2, "", "usage"},
		{"volume add one arg", []string{"volume", "add", "x"}, 2, "", "usage"},
		{"volume add bad size", []string{"volume", "add", "x", data + "/x", "--capacity", "lots"}, 2, "", "capacity"},
		{"volume add", []string{"volume", "add", "x", data + "/x", "--capacity", "2GiB"}, 0, "added volume x", ""},
		{"volume add again", []string{"volume", "add", "x", data + "/y"}, 1, "", "already exists"},
		{"volume add same name on another node", []string{"volume", "add", "x", data + "/far", "--node", "far"}, 0, "added volume x", ""},
		{"volume set no state", []string{"volume", "set", "x"}, 2, "", "usage"},
		{"volume set bad state", []string{"volume", "set", "x", "--state", "gone"}, 2, "", "gone"},
		{"volume set", []string{"volume", "set", "x", "--state", "readonly"}, 0, "readonly", ""},
		{"volume force readonly", []string{"volume", "force", "x"}, 1, "", "readonly"},
		{"volume force unknown", []string{"volume", "force", "nope"}, 1, "", "not found"},
		{"volume force both", []string{"volume", "force", "x", "--off"}, 2, "", "usage"},
		{"volume set active", []string{"volume", "set", "x", "--state", "active"}, 0, "active", ""},
		{"volume force", []string{"volume", "force", "x"}, 0, "every new upload goes to volume x", ""},
		{"volume list", []string{"volume", "list"}, 0, "active (forced)", ""},
		{"volume force off", []string{"volume", "force", "--off"}, 0, "released", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(strings.ToLower(errb.String()), strings.ToLower(tc.stderr)) {
				t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
			}
			if tc.code == 1 && strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
				t.Errorf("failure reason must be one line: %q", errb.String())
			}
		})
	}
	var out bytes.Buffer
	if code := run([]string{"volume", "list", "--json"}, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("volume list --json: %d %s", code, out.String())
	}
	var rows []volumeRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("volume list --json: %v %s", err, out.String())
	}
	// Sorted by node: "far" first. set and force acted on this node's x only.
	if far := rows[0]; far.Node != "far" || far.Name != "x" || far.State != "active" || far.Used != nil || far.Forced {
		t.Errorf("other node's volume x: %+v", far)
	}
	if local := rows[1]; local.Name != "x" || local.Capacity != 2<<30 || local.Used == nil || local.Forced {
		t.Errorf("this node's volume x: %+v", local)
	}
}
