package redisstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seedbed/seedbed/tracker"
)

// commandCounter counts the commands a client sends.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestCountsFollowAppend: the Counts of an announce comes with its
// AppendPeers, without a command of its own, and is never older than this
// node's own writes; another node's writes show within a second.
func TestCountsFollowAppend(t *testing.T) {
	ctx := context.Background()
	c := testClient(t)
	var sent commandCounter
	c.AddHook(&sent)
	s := New(c, Options{})
	oc := redis.NewClient(c.Options()) // same database, own connections: another node
	t.Cleanup(func() { oc.Close() })
	other := New(oc, Options{})
	mustPut(t, s, ihA, testPeer(1, "10.0.0.1", true, 100), testPeer(2, "10.0.0.2", false, 100))
	if _, err := s.Snatch(ctx, ihA, testPeer(2, "10.0.0.2", false, 100).ID); err != nil {
		t.Fatal(err)
	}
	want := tracker.SwarmCounts{Seeders: 1, Leechers: 1, Completed: 1}
	for _, seeder := range []bool{false, true} {
		if _, err := s.AppendPeers(ctx, ihA, anyRequester(seeder), 10, nil); err != nil {
			t.Fatal(err)
		}
		before := sent.n.Load()
		if got, err := s.Counts(ctx, ihA); err != nil || got != want {
			t.Errorf("seeder=%v: counts %+v %v, want %+v", seeder, got, err, want)
		}
		if n := sent.n.Load() - before; n != 0 {
			t.Errorf("seeder=%v: Counts after AppendPeers sent %d commands, want none", seeder, n)
		}
		before = sent.n.Load()
		if got, err := s.Counts(ctx, ihA); err != nil || got != want || sent.n.Load() == before {
			t.Errorf("seeder=%v: second Counts %+v %v, want %+v from Redis", seeder, got, err, want)
		}
	}

	// Our own write between AppendPeers and Counts is always counted.
	s.AppendPeers(ctx, ihA, anyRequester(false), 10, nil)
	mustPut(t, s, ihA, testPeer(3, "10.0.0.3", false, 100))
	if got, _ := s.Counts(ctx, ihA); got.Leechers != 2 {
		t.Errorf("counts %+v after our own put, want 2 leechers", got)
	}

	// Another node's write shows within a second.
	start := time.Now()
	mustPut(t, other, ihA, testPeer(4, "10.0.0.4", false, 100))
	for {
		s.AppendPeers(ctx, ihA, anyRequester(false), 10, nil)
		if got, _ := s.Counts(ctx, ihA); got.Leechers == 3 {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("another node's peer is not in the counts within a second")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
