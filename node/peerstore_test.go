package node

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/internal/testenv"
	"github.com/seedbed/seedbed/tracker"
	"github.com/seedbed/seedbed/tracker/redisstore"
)

func TestPeerStoreChoice(t *testing.T) {
	ctx := context.Background()
	n := &Node{cfg: config.Default(), log: slog.New(slog.DiscardHandler)}
	s, err := n.openPeerStore(ctx)
	if _, ok := s.(*tracker.MemoryStore); err != nil || !ok {
		t.Fatalf("without tracker.redis_url: %T %v, want the memory store", s, err)
	}

	n.cfg.Tracker.RedisURL = testenv.Redis(t)
	n.cfg.Tracker.RedisPrefix = "campus-a:"
	s, err = n.openPeerStore(ctx)
	rs, ok := s.(*redisstore.Store)
	if err != nil || !ok || rs.Prefix() != "campus-a:" || n.redis != rs {
		t.Fatalf("with tracker.redis_url: %T %v, want the Redis store with prefix campus-a:", s, err)
	}
	if err := n.closePeerStore(); err != nil {
		t.Fatal(err)
	}

	srv := testenv.StartRedis(t)
	srv.Stop()
	n = &Node{cfg: config.Default(), log: slog.New(slog.DiscardHandler)}
	n.cfg.Tracker.RedisURL = srv.URL(0)
	if _, err := n.openPeerStore(ctx); err == nil || !strings.Contains(err.Error(), "tracker.redis_url: redisstore: connect to redis at "+srv.Addr()) {
		t.Errorf("with Redis down: %v, want a start-up error naming tracker.redis_url and the address", err)
	}
}
