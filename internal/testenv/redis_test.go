package testenv

import (
	"os"
	"strings"
	"testing"
)

func TestRedisDatabasesAreSeparate(t *testing.T) {
	a, b := Redis(t), Redis(t)
	if a == b || !strings.HasPrefix(a, "redis://127.0.0.1:") {
		t.Fatalf("Redis gave %q and %q, want two databases of one local server", a, b)
	}
	if err := redisShared.command(0, "PING"); err != nil {
		t.Fatalf("shared server: %v", err)
	}
}

func TestStartRedisRestarts(t *testing.T) {
	s := StartRedis(t)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.command(0, "PING"); err == nil {
		t.Fatal("a stopped server still answers PING")
	}
	if err := s.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if err := s.command(0, "PING"); err != nil {
		t.Fatalf("restarted server: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("server directory %s left behind: %v", s.dir, err)
	}
}
