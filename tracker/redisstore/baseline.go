package redisstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Baselines keeps the accounting baselines of tracker/ledger.go (the
// counters of each (user, torrent, peer_id)'s last announce) in Redis, so a
// client that announces to node 1 and then to node 2 is credited exactly
// once: every node advances the same baseline. It is the shared form of
// ledger.advance, one script per announce; the pending deltas stay per
// node (each node flushes what it credited). Not wired into the tracker
// yet: see the lead's notes.
//
// Layout: one string key per baseline,
//
//	P bl:<infohash hex>:<user id>:<peer_id hex>  "uploaded downloaded seen seeder"
//
// that Redis itself expires TTL after its last announce (SET … EX), so no
// garbage collection loop is needed.
type Baselines struct {
	client redis.UniversalClient
	prefix string
	ttl    int64 // seconds
}

// NewBaselines returns baselines under prefix (default DefaultPrefix) that
// expire ttlSeconds after their peer's last announce (the tracker's
// PeerTTL); ttlSeconds also caps the seeding time one announce credits.
func NewBaselines(client redis.UniversalClient, prefix string, ttlSeconds int64) *Baselines {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Baselines{client: client, prefix: prefix + "bl:", ttl: max(ttlSeconds, 1)}
}

// Announce is what Advance needs of one announce.
type Announce struct {
	User                 uint64
	InfoHash, PeerID     [20]byte
	Uploaded, Downloaded int64
	Seeder               bool   // left == 0
	Stopped              bool   // event=stopped: the baseline is dropped
	Regular              bool   // no event: subject to the min interval
	Now                  uint32 // Unix seconds, the tracker's clock
	MinInterval          uint32 // seconds; 0: none
}

// Credit is what one announce earns, as ledger.advance computes it.
type Credit struct {
	Uploaded, Downloaded, SeedingSeconds int64
	// Early is a regular announce sooner than MinInterval after the last
	// credited one: nothing is credited and the baseline stays.
	Early bool
}

// advanceScript is ledger.advance in Lua.
//
//	KEYS: the baseline
//	ARGV: uploaded, downloaded, now, seeder 1/0, stopped 1/0, regular 1/0,
//	      min interval, ttl
//
// It returns {uploaded, downloaded, seeding seconds, early 1/0}. Counters
// are written back as the decimal strings the client sent (Lua numbers
// are doubles: exact for deltas below 2^53 bytes, 9 PB).
var advanceScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
local up, down, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local pu, pd, seen, ps
if v then
  pu, pd, seen, ps = string.match(v, '^(%d+) (%d+) (%d+) ([01])$')
  pu, pd, seen = tonumber(pu), tonumber(pd), tonumber(seen)
  if ARGV[6] == '1' and now < seen + tonumber(ARGV[7]) then return {0, 0, 0, 1} end
end
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4], 'EX', ARGV[8])
end
if not pu then return {0, 0, 0, 0} end
local du, dd, secs = 0, 0, 0
if up >= pu and down >= pd then du, dd = up - pu, down - pd end
if ps == '1' and now > seen then secs = math.min(now - seen, tonumber(ARGV[8])) end
return {du, dd, secs, 0}
`)

// Advance moves the baseline of a's (user, torrent, peer_id) to this
// announce and returns what it credits: a first announce only sets the
// baseline, counters that went down are a client restart (a new baseline,
// no credit), a stopped peer's baseline is dropped.
func (b *Baselines) Advance(ctx context.Context, a Announce) (Credit, error) {
	if a.Uploaded < 0 || a.Downloaded < 0 {
		return Credit{}, errors.New("redisstore: advance baseline: negative counters")
	}
	key := make([]byte, 0, len(b.prefix)+104)
	key = append(key, b.prefix...)
	key = hex.AppendEncode(key, a.InfoHash[:])
	key = strconv.AppendUint(append(key, ':'), a.User, 10)
	key = hex.AppendEncode(append(key, ':'), a.PeerID[:])
	res, err := advanceScript.Run(ctx, b.client, []string{string(key)},
		a.Uploaded, a.Downloaded, int64(a.Now), flag(a.Seeder), flag(a.Stopped), flag(a.Regular),
		int64(a.MinInterval), b.ttl).Int64Slice()
	if err == nil && len(res) != 4 {
		err = errors.New("unexpected reply")
	}
	if err != nil {
		return Credit{}, fmt.Errorf("redisstore: advance baseline: %w", err)
	}
	return Credit{Uploaded: res[0], Downloaded: res[1], SeedingSeconds: res[2], Early: res[3] == 1}, nil
}
