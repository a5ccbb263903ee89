-- wrk script for bench/tracker.sh: each request is a BitTorrent announce
-- (BEP 3) of a random new peer on a random torrent of the bench catalog, with
-- the query string a real client sends. Every reply is checked: status 200,
-- a bencoded dictionary with an "interval" and a compact "peers" string whose
-- length is a whole number of 6-byte peers, and no "failure reason".
--
-- Environment:
--   BENCH_INFOHASHES  file of info hashes, 40 hex characters a line (required)
--   BENCH_PASSKEYS    file of passkeys; when set, the path is /announce/<passkey>
--   BENCH_CLOSE       "1": send "Connection: close" (a new TCP connection per announce)
--   BENCH_NUMWANT     numwant (default 50)

local function read_lines(path)
  local out = {}
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in f:lines() do
    if #line > 0 then out[#out + 1] = line end
  end
  f:close()
  return out
end

local function urlencode_hex(hex)
  return (hex:gsub("..", function(h) return "%" .. h end))
end

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

local hashes, passkeys, numwant
-- Globals, so that done() can read them from each thread.
invalid, valid, peers, first_invalid = 0, 0, 0, ""

function init(args)
  hashes = read_lines(os.getenv("BENCH_INFOHASHES"))
  for i, h in ipairs(hashes) do hashes[i] = urlencode_hex(h) end
  local pk = os.getenv("BENCH_PASSKEYS")
  if pk and #pk > 0 then passkeys = read_lines(pk) end
  numwant = tonumber(os.getenv("BENCH_NUMWANT") or "50")
  if os.getenv("BENCH_CLOSE") == "1" then wrk.headers["Connection"] = "close" end
  math.randomseed(os.time() * 1000 + id)
end

local alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
local function peer_id()
  local t = {}
  for i = 1, 12 do
    local k = math.random(1, #alnum)
    t[i] = alnum:sub(k, k)
  end
  return "-WR0001-" .. table.concat(t)
end

function request()
  local path = "/announce"
  if passkeys then path = path .. "/" .. passkeys[math.random(1, #passkeys)] end
  local left = 0
  if math.random(1, 4) > 1 then left = math.random(1, 1073741824) end
  local event = ""
  if math.random(1, 10) == 1 then event = "&event=started" end
  local q = "?info_hash=" .. hashes[math.random(1, #hashes)] ..
    "&peer_id=" .. peer_id() ..
    "&port=" .. math.random(1025, 65000) ..
    "&uploaded=" .. math.random(0, 1073741824) ..
    "&downloaded=" .. math.random(0, 1073741824) ..
    "&left=" .. left .. "&corrupt=0&key=" .. string.format("%08X", math.random(0, 2147483647)) ..
    event .. "&numwant=" .. numwant .. "&compact=1&no_peer_id=1"
  return wrk.format("GET", path .. q)
end

-- valid_reply checks a compact announce reply.
local function valid_reply(body)
  if body:sub(1, 1) ~= "d" or body:sub(-1) ~= "e" then return false, "not a dictionary" end
  if body:find("14:failure reason", 1, true) then return false, body end
  if not body:find("8:intervali%d+e") then return false, "no interval" end
  local s, e, n = body:find("5:peers(%d+):")
  if not s then return false, "no peers key" end
  n = tonumber(n)
  if n % 6 ~= 0 or e + n > #body - 1 or n / 6 > numwant then return false, "bad peer list" end
  return true, n / 6
end

function response(status, headers, body)
  if status ~= 200 then
    invalid = invalid + 1
    if first_invalid == "" then first_invalid = "status " .. status end
    return
  end
  local ok, n = valid_reply(body)
  if ok then
    valid = valid + 1
    peers = peers + n
  else
    invalid = invalid + 1
    if first_invalid == "" then first_invalid = n end
  end
end

function done(summary, latency, requests)
  local v, inv, p, first = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    v = v + t:get("valid")
    inv = inv + t:get("invalid")
    p = p + t:get("peers")
    local f = t:get("first_invalid")
    if first == "" and f and f ~= "" then first = f end
  end
  local secs = summary.duration / 1e6
  local errs = summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout
  local per = 0
  if v > 0 then per = p / v end
  io.write(string.format(
    "rate=%.0f ok=%d invalid=%d socket_errors=%d peers_per_reply=%.1f p50_us=%d p99_us=%d elapsed_s=%.2f\n",
    v / secs, v, inv, errs, per, latency:percentile(50), latency:percentile(99), secs))
  if first ~= "" then io.write("first_invalid=" .. first:sub(1, 200):gsub("\n", " ") .. "\n") end
end
