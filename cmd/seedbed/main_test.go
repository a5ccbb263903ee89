package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestExitCodes(t *testing.T) {
	data := t.TempDir()
	t.Setenv("SEEDBED_DATA_DIR", data)
	t.Setenv("SEEDBED_CONFIG", "")
	cases := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{"no command", nil, "", 2, "", "no command"},
		{"unknown", []string{"frobnicate"}, "", 2, "", "unknown command"},
		{"version", []string{"version"}, "", 0, "seedbed ", ""},
		{"help", []string{"--help"}, "", 0, "Usage", ""},
		{"user add without name", []string{"user", "add"}, "", 2, "", "usage"},
		{"user add bad flag", []string{"user", "add", "bob", "--bogus"}, "", 2, "", "bogus"},
		{"user add", []string{"user", "add", "bob", "--password-stdin", "--admin"}, "long enough pw\n", 0, "sbt_", ""},
		{"duplicate user", []string{"user", "add", "bob", "--password-stdin"}, "long enough pw\n", 1, "", "bob"},
		{"short password", []string{"user", "add", "carol", "--password-stdin"}, "short\n", 1, "", "password"},
		{"token", []string{"token", "create", "bob"}, "", 0, "sbt_", ""},
		{"token unknown user", []string{"token", "create", "nobody"}, "", 1, "", "nobody"},
		{"bad config file", []string{"--config", data + "/missing.toml", "version"}, "", 0, "seedbed", ""},
		{"serve with bad config", []string{"--config", data + "/missing.toml", "serve"}, "", 1, "", "missing.toml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, strings.NewReader(tc.stdin), &out, &errb)
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
}

func TestUserAddPrintsTokenLast(t *testing.T) {
	t.Setenv("SEEDBED_DATA_DIR", t.TempDir())
	var out, errb bytes.Buffer
	if code := run([]string{"user", "add", "dave"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "sbt_") || !strings.Contains(out.String(), "password: ") {
		t.Errorf("output %q", out.String())
	}
}
