package node

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/seedbed/seedbed/tracker"
	"github.com/seedbed/seedbed/tracker/redisstore"
)

// memoryShards is the number of shards of the in-memory peer store.
const memoryShards = 64

// openPeerStore returns the tracker's peer store: in memory, or on the Redis
// of tracker.redis_url, shared with every node that uses the same Redis and
// tracker.redis_prefix. A Redis that does not answer fails start-up.
func (n *Node) openPeerStore(ctx context.Context) (tracker.PeerStore, error) {
	c := n.cfg.Tracker
	if c.RedisURL == "" {
		return tracker.NewMemoryStore(memoryShards), nil
	}
	routeRedisLog(n.log)
	s, err := redisstore.Open(ctx, c.RedisURL, redisstore.Options{Prefix: c.RedisPrefix})
	if err != nil {
		return nil, fmt.Errorf("tracker.redis_url: %w", err)
	}
	n.redis = s
	n.log.Info("tracker swarms are shared through redis", "prefix", s.Prefix())
	return s, nil
}

// closePeerStore closes the Redis connection, if there is one.
func (n *Node) closePeerStore() error {
	if n.redis == nil {
		return nil
	}
	return n.redis.Close()
}

var redisLogOnce sync.Once

// routeRedisLog sends go-redis's own messages (failed dials while Redis is
// down) to our logger instead of stderr. go-redis has one global logger.
func routeRedisLog(log *slog.Logger) {
	redisLogOnce.Do(func() { redis.SetLogger(redisLogger{log}) })
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
