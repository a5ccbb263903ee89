package tracker

import (
	"hash/maphash"
	"strings"
	"sync"
)

// rateLimiter is a token bucket per passkey: each announce takes a token,
// buckets refill at rate tokens per second up to burst. It runs on the
// tracker's cached clock (whole seconds), which is plenty for a generous
// limit. A known passkey costs one map lookup under a shard lock and no
// allocation.
type rateLimiter struct {
	rate, burst float64
	seed        maphash.Seed
	shards      [64]limiterShard
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[string]bucket
	_       [48]byte // keep neighbouring locks off one cache line
}

type bucket struct {
	tokens float64
	last   uint32 // when tokens was last brought up to date
}

// newRateLimiter returns nil when rate is not positive: no limit.
func newRateLimiter(rate float64, burst int) *rateLimiter {
	if rate <= 0 {
		return nil
	}
	l := &rateLimiter{rate: rate, burst: float64(max(burst, 1)), seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]bucket)
	}
	return l
}

// allow takes a token from key's bucket; false when it is empty.
func (l *rateLimiter) allow(key string, now uint32) bool {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, ok := sh.buckets[key]
	if !ok {
		key = strings.Clone(key) // do not keep the request's memory alive
		b = bucket{tokens: l.burst, last: now}
	}
	b = l.refill(b, now)
	allowed := b.tokens >= 1
	if allowed {
		b.tokens--
	}
	sh.buckets[key] = b
	return allowed
}

func (l *rateLimiter) refill(b bucket, now uint32) bucket {
	if now > b.last {
		b.tokens = min(l.burst, b.tokens+l.rate*float64(now-b.last))
		b.last = now
	}
	return b
}

// expire forgets the buckets that are full again by now: forgetting them
// changes nothing.
func (l *rateLimiter) expire(now uint32) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for k, b := range sh.buckets {
			if l.refill(b, now).tokens >= l.burst {
				delete(sh.buckets, k)
			}
		}
		sh.mu.Unlock()
	}
}
