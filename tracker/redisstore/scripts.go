package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts keep a swarm's two hashes, the expiry index and the
// totals consistent: each runs atomically on the server, so several nodes
// can write the same swarm at once. go-redis runs them with EVALSHA and
// falls back to EVAL after a restart emptied the script cache.

// luaPut and luaRemove are the Lua functions the scripts share: they add
// (or refresh) and remove one peer, keeping the totals exact. put returns 1
// when the peer is new to the swarm, remove 1 when it was there.
//
//	K: seeders hash, leechers hash, expiry zset, totals hash
const luaPut = `
local function put(K, field, rec, seeder, seen, member)
  local into, from, up, down = K[1], K[2], 'seeders', 'leechers'
  if seeder == '0' then into, from, up, down = K[2], K[1], 'leechers', 'seeders' end
  local moved = redis.call('HDEL', from, field)
  local added = redis.call('HSET', into, field, rec)
  redis.call('ZADD', K[3], seen, member)
  if added == 0 then return 0 end
  redis.call('HINCRBY', K[4], up, 1)
  if moved == 1 then
    redis.call('HINCRBY', K[4], down, -1)
    return 0
  end
  if redis.call('HLEN', into) + redis.call('HLEN', from) == 1 then
    redis.call('HINCRBY', K[4], 'swarms', 1)
  end
  return 1
end
`

const luaRemove = `
local function remove(K, field, member)
  local s = redis.call('HDEL', K[1], field)
  local l = redis.call('HDEL', K[2], field)
  if s + l == 0 then return 0 end
  redis.call('ZREM', K[3], member)
  if s > 0 then redis.call('HINCRBY', K[4], 'seeders', -s) end
  if l > 0 then redis.call('HINCRBY', K[4], 'leechers', -l) end
  if redis.call('HLEN', K[1]) + redis.call('HLEN', K[2]) == 0 then
    redis.call('HINCRBY', K[4], 'swarms', -1)
  end
  return 1
end
`

// luaEntries counts the entries of a peer_id in a swarm, both families.
//
//	K: seeders hash, leechers hash
const luaEntries = `
local function entries(K, id)
  local f4, f6 = id .. '4', id .. '6'
  return redis.call('HEXISTS', K[1], f4) + redis.call('HEXISTS', K[2], f4) +
    redis.call('HEXISTS', K[1], f6) + redis.call('HEXISTS', K[2], f6)
end
`

// putScript adds or refreshes a peer.
//
//	KEYS: seeders hash, leechers hash, expiry zset, totals hash
//	ARGV: field, record, "1" seeder / "0" leecher, LastSeen, expiry member
var putScript = redis.NewScript(luaPut + `
return put(KEYS, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
`)

// removeScript removes a peer, and its baseline when it has no entry left.
//
//	KEYS: seeders hash, leechers hash, expiry zset, totals hash, baselines hash
//	ARGV: field, expiry member
var removeScript = redis.NewScript(luaRemove + luaEntries + `
local r = remove(KEYS, ARGV[1], ARGV[2])
local id = string.sub(ARGV[1], 1, 20)
if entries(KEYS, id) == 0 then redis.call('HDEL', KEYS[5], id) end
return r
`)

// announceScript is a whole announce in one round trip (see
// Store.Announce): it reads the requester's baseline, puts (or, when
// stopping, removes) its entries, moves the baseline as
// tracker.StoreAnnounce says, counts a snatch, and returns the swarm's
// lists as fetchScript does, its counts and the old baseline.
//
//	KEYS: seeders hash, leechers hash, expiry zset, totals hash,
//	      baselines hash, snatch set
//	ARGV: "put" / "remove", number of entries k, then per entry field,
//	      record, seeder flag, LastSeen, expiry member; then b = 3+5k:
//	      [b] "1" only leechers / "0" both / "-" no peers, [b+1] peer_id,
//	      [b+2] owner ("0": none), [b+3] uploaded, [b+4] downloaded,
//	      [b+5] now, [b+6] seeder 1/0, [b+7] regular 1/0,
//	      [b+8] min interval, [b+9] snatch 1/0
//
// Numbers come as zero-padded decimals (see Store.Announce). A baseline is
// "owner uploaded downloaded seen seeder" in decimal (Lua
// numbers are doubles: exact below 2^53, and counters stop at 2^47). The
// reply is {seeders' records, leechers' records, seeders, snatches,
// leechers, known 1/0, uploaded, downloaded, seen, seeder 1/0, early 1/0,
// first snatch 1/0}.
var announceScript = redis.NewScript(luaPut + luaRemove + luaEntries + `
local function dec(s) return (string.gsub(s, '^0+(%d)', '%1')) end
local k = tonumber(ARGV[2])
local b = 3 + 5 * k
local id, owner = ARGV[b + 1], dec(ARGV[b + 2])
local cur = redis.call('HGET', KEYS[5], id)
local known, pu, pd, ps, pseed, early = 0, 0, 0, 0, 0, 0
if cur and owner ~= '0' then
  local o, u, d, seen, sd = string.match(cur, '^(%d+) (%d+) (%d+) (%d+) ([01])$')
  if o == owner then
    known, pu, pd, ps, pseed = 1, tonumber(u), tonumber(d), tonumber(seen), tonumber(sd)
    local ivl = tonumber(ARGV[b + 8])
    if ARGV[b + 7] == '1' and ivl > 0 and tonumber(ARGV[b + 5]) < ps + ivl then early = 1 end
  end
end
for i = 0, k - 1 do
  local a = 3 + 5 * i
  if ARGV[1] == 'remove' then
    remove(KEYS, ARGV[a], ARGV[a + 4])
  else
    put(KEYS, ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4])
  end
end
local nxt = nil
if early == 1 then
  nxt = cur
elseif owner ~= '0' then
  nxt = owner .. ' ' .. dec(ARGV[b + 3]) .. ' ' .. dec(ARGV[b + 4]) .. ' ' .. dec(ARGV[b + 5]) .. ' ' .. ARGV[b + 6]
end
if nxt and (ARGV[1] == 'put' or entries(KEYS, id) > 0) then
  if nxt ~= cur then redis.call('HSET', KEYS[5], id, nxt) end
elseif cur then
  redis.call('HDEL', KEYS[5], id)
end
local first = 0
if ARGV[b + 9] == '1' then first = redis.call('SADD', KEYS[6], id) end
local want = ARGV[b]
local s, l = '', ''
if want == '0' then s = table.concat(redis.call('HVALS', KEYS[1])) end
if want ~= '-' then l = table.concat(redis.call('HVALS', KEYS[2])) end
return {s, l, redis.call('HLEN', KEYS[1]), redis.call('SCARD', KEYS[6]), redis.call('HLEN', KEYS[2]),
  known, pu, pd, ps, pseed, early, first}
`)

// expireScript removes up to ARGV[2] peers last seen before ARGV[1].
//
//	KEYS: expiry zset, totals hash
//	ARGV: cutoff, batch size, swarm key prefix
//
// It returns {peers removed, index entries examined}: fewer examined than
// the batch size means none is left. A peer_id left with no entry loses
// its baseline. The swarm keys are derived from the members (infohash and
// field), so this script needs a single Redis, not a cluster.
var expireScript = redis.NewScript(luaEntries + `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local removed, seeders, leechers, swarms = 0, 0, 0, 0
for _, m in ipairs(members) do
  local ih = string.gsub(string.sub(m, 1, 20), '.', function(c) return string.format('%02x', string.byte(c)) end)
  local field = string.sub(m, 21)
  local sk, lk = ARGV[3] .. ih .. ':s', ARGV[3] .. ih .. ':l'
  local s = redis.call('HDEL', sk, field)
  local l = redis.call('HDEL', lk, field)
  if s + l > 0 then
    removed, seeders, leechers = removed + s + l, seeders + s, leechers + l
    if redis.call('HLEN', sk) + redis.call('HLEN', lk) == 0 then swarms = swarms + 1 end
    local id = string.sub(field, 1, 20)
    if entries({sk, lk}, id) == 0 then redis.call('HDEL', ARGV[3] .. ih .. ':b', id) end
  end
  redis.call('ZREM', KEYS[1], m)
end
if seeders > 0 then redis.call('HINCRBY', KEYS[2], 'seeders', -seeders) end
if leechers > 0 then redis.call('HINCRBY', KEYS[2], 'leechers', -leechers) end
if swarms > 0 then redis.call('HINCRBY', KEYS[2], 'swarms', -swarms) end
return {removed, #members}
`)

// fetchScript returns a swarm's seeders and leechers, each list as one
// string of fixed-size records (one reply string per list rather than one
// per peer), and the swarm's seeder and snatch counts, so an announce gets
// its counts in the same round trip. A seeder asks for leechers only
// (ARGV[1] = "1").
//
//	KEYS: seeders hash, leechers hash, snatch set
//	ARGV: "1" only leechers / "0" both
var fetchScript = redis.NewScript(`
local s = ''
if ARGV[1] == '0' then s = table.concat(redis.call('HVALS', KEYS[1])) end
return {s, table.concat(redis.call('HVALS', KEYS[2])), redis.call('HLEN', KEYS[1]), redis.call('SCARD', KEYS[3])}
`)

// countsScript returns a swarm's seeders, leechers and snatches.
//
//	KEYS: seeders hash, leechers hash, snatch set
var countsScript = redis.NewScript(`
return {redis.call('HLEN', KEYS[1]), redis.call('HLEN', KEYS[2]), redis.call('SCARD', KEYS[3])}
`)
