package config

import (
	"strings"
	"testing"
)

func TestCheckRedisURL(t *testing.T) {
	for raw, want := range map[string]string{
		"":                                  "",
		"redis://127.0.0.1:6379/0":          "",
		"redis://redis.campus.example":      "",
		"rediss://user:secret@h:6380/2":     "",
		"unix:///run/redis/redis.sock?db=1": "",
		"127.0.0.1:6379":                    "use redis://host:6379/0",
		"http://127.0.0.1:6379":             `has scheme "http"`,
		"redis://":                          "has no host",
		"redis://h:99999/0":                 "invalid port",
		"redis://h:6379/zero":               "not a number",
		"unix://":                           "no socket path",
		"redis://user:secret@h:6379/x":      "xxxxx",
	} {
		err := checkRedisURL(raw)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want an error with %q", raw, err, want)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("%q: the error shows the password: %v", raw, err)
		}
	}
}
