#!/usr/bin/env bash
# bench/tracker.sh: Seedbed's tracker side by side with Debian's opentracker
# (issue 3; results in docs/performance.md, section "Tracker vs opentracker").
#
# One run on one machine with the same load generators against both:
#   - memory: RSS growth per peer while seedbed-udpload fills PEERS distinct
#     peers into TORRENTS torrents (VmRSS before, 2 s after and 30 s after,
#     /proc/PID/status);
#   - HTTP announces/s and p99 with wrk + bench/announce.lua, with keep-alive
#     and with "Connection: close" (a new TCP connection per announce);
#   - UDP announces/s and p99 with seedbed-udpload (BEP 15).
# Every reply is checked as a real peer list; a run with an invalid reply
# fails the script. Seedbed runs with passkeys (in the path, and as BEP 41 URL
# data over UDP), accounting into its SQLite catalog and LAN ranking on;
# opentracker in whitelist mode with the same infohashes. Each round starts
# both trackers afresh; the table shows the medians of REPEAT rounds.
#
# Needs: go, wrk, opentracker (Debian packages wrk, opentracker).
# Knobs (environment): REPEAT=5 DURATION=10s USERS=1000 TORRENTS=100000
# PEERS=1000000 WRK_THREADS=2 WRK_CONNS=50 UDP_SOCKETS=4 UDP_WINDOW=16
# RESULTS=file (raw results; default: a temporary file, printed path).
# SEEDBED_BIN=path measures that seedbed binary instead of building one
# (for a before/after comparison).
set -euo pipefail

REPEAT=${REPEAT:-5}
DURATION=${DURATION:-10s}
USERS=${USERS:-1000}
TORRENTS=${TORRENTS:-100000}
PEERS=${PEERS:-1000000}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-50}
UDP_SOCKETS=${UDP_SOCKETS:-4}
UDP_WINDOW=${UDP_WINDOW:-16}
TAGS=nosqlite,sqlite_fts5

root=$(cd "$(dirname "$0")/.." && pwd)
for tool in go wrk opentracker; do
	command -v "$tool" >/dev/null || { echo "bench/tracker.sh: $tool not found (apt-get install -y wrk opentracker)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/seedbed-trackerbench.XXXXXX)
chmod 755 "$work"
RESULTS=${RESULTS:-$work/results.txt}
pids=()

cleanup() {
	for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$work/seedbed" "$work/ot" "$work/fixture"
}
trap cleanup EXIT

log() { echo "tracker bench: $*" >&2; }

# --- build and fixture --------------------------------------------------
log "building"
(cd "$root" && if [ -n "${SEEDBED_BIN:-}" ]; then cp "$SEEDBED_BIN" "$work/seedbed.bin"; else
	CGO_ENABLED=1 go build -tags "$TAGS" -o bin/seedbed ./cmd/seedbed && cp bin/seedbed "$work/seedbed.bin"; fi &&
	go build -o "$work/udpload" ./cmd/seedbed-udpload &&
	go build -tags "$TAGS" -o "$work/trackerfixture" ./bench/cmd/trackerfixture)
log "catalog: $USERS users, $TORRENTS torrents"
mkdir -p "$work/fixture"
"$work/trackerfixture" -data "$work/fixture" -out "$work/fixture" -users "$USERS" -torrents "$TORRENTS"
ih="$work/fixture/infohashes.txt"
pk="$work/fixture/passkeys.txt"

base=$((20000 + RANDOM % 20000))
sb_http=127.0.0.1:$base
sb_udp=127.0.0.1:$((base + 1))
ot_addr=127.0.0.1:$((base + 2))

# --- processes ----------------------------------------------------------
sb_pid=""
ot_pid=""

start_seedbed() {
	rm -rf "$work/seedbed"
	mkdir -p "$work/seedbed"
	cp "$work/fixture/seedbed.db" "$work/seedbed/"
	# The rate limit stays on but never refuses: the load generators play
	# far more clients per passkey than one student has.
	cat >"$work/seedbed/seedbed.toml" <<TOML
data_dir = "$work/seedbed"
log_level = "warn"
[http]
addr = "$sb_http"
[tracker]
udp_addr = "$sb_udp"
announce_rate = 1000000
announce_burst = 1000000
TOML
	"$work/seedbed.bin" tracker --config "$work/seedbed/seedbed.toml" >"$work/seedbed/log" 2>&1 &
	sb_pid=$!
	pids+=("$sb_pid")
	wait_ready "$sb_udp" "$pk" seedbed
}

start_opentracker() {
	rm -rf "$work/ot"
	mkdir -p "$work/ot"
	cp "$ih" "$work/ot/whitelist.txt"
	chmod 755 "$work/ot"
	chmod 644 "$work/ot/whitelist.txt"
	# opentracker chroots into -d and drops to -u: the whitelist path is
	# relative to the chroot.
	(cd "$work/ot" && exec opentracker -i 127.0.0.1 -p "${ot_addr##*:}" -P "${ot_addr##*:}" \
		-w whitelist.txt -d "$work/ot" -u nobody >"$work/ot/log" 2>&1) &
	ot_pid=$!
	pids+=("$ot_pid")
	wait_ready "$ot_addr" "" opentracker
}

# wait_ready polls with one announce until the tracker answers it validly
# (opentracker loads its whitelist in the background).
wait_ready() {
	local addr=$1 keys=$2 name=$3
	for _ in $(seq 1 100); do
		if "$work/udpload" -addr "$addr" -infohashes "$ih" ${keys:+-passkeys "$keys"} -requests 1 \
			-sockets 1 -window 1 -timeout 200ms -duration 1s >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.3
	done
	log "$name did not come up on $addr"
	cat "$work/seedbed/log" "$work/ot/log" 2>/dev/null >&2 || true
	exit 1
}

stop() {
	local pid=$1
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- measurements -------------------------------------------------------
# Each records "name value" lines in $RESULTS.
record() { echo "$1 $2" >>"$RESULTS"; }

field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

measure_memory() { # tracker pid udp-addr [passkeys]
	local name=$1 pid=$2 addr=$3 keys=${4:-}
	sleep 2
	local before after out
	before=$(rss_kib "$pid")
	out=$("$work/udpload" -addr "$addr" -infohashes "$ih" ${keys:+-passkeys "$keys"} -fill "$PEERS" \
		-sockets "$UDP_SOCKETS" -window 64 -duration 300s)
	sleep 2
	after=$(rss_kib "$pid")
	log "$name fill: $out; RSS ${before} KiB -> ${after} KiB"
	record "$name.mem_bytes_per_peer" "$(awk -v a="$after" -v b="$before" -v p="$PEERS" 'BEGIN {printf "%.1f", (a-b)*1024/p}')"
	# The same 30 s later: a garbage-collected process gives back the
	# garbage of the burst (and its accounting flushes) over some seconds.
	sleep 28
	after=$(rss_kib "$pid")
	log "$name 30 s after the fill: RSS ${after} KiB"
	record "$name.mem_settled_bytes_per_peer" "$(awk -v a="$after" -v b="$before" -v p="$PEERS" 'BEGIN {printf "%.1f", (a-b)*1024/p}')"
}

run_wrk() { # name url close [passkeys]
	local name=$1 url=$2 close=$3 keys=${4:-} out line
	out=$(BENCH_INFOHASHES="$ih" BENCH_PASSKEYS="$keys" BENCH_CLOSE="$close" \
		wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$DURATION" -s "$root/bench/announce.lua" "$url")
	line=$(grep '^rate=' <<<"$out")
	log "$name: $line"
	if [ "$(field "$line" invalid)" != 0 ] || [ "$(field "$line" ok)" = 0 ]; then
		log "$name: invalid replies"; grep -A1 '^rate=' <<<"$out" >&2; exit 1
	fi
	record "$name.rate" "$(field "$line" rate)"
	record "$name.p99_us" "$(field "$line" p99_us)"
}

run_udp() { # name addr window [passkeys]
	local name=$1 addr=$2 window=$3 keys=${4:-} line
	line=$("$work/udpload" -addr "$addr" -infohashes "$ih" ${keys:+-passkeys "$keys"} \
		-sockets "$UDP_SOCKETS" -window "$window" -duration "$DURATION")
	log "$name: $line"
	record "$name.rate" "$(field "$line" rate)"
	record "$name.p99_us" "$(field "$line" p99_us)"
	record "$name.lost" "$(field "$line" lost)"
}

: >"$RESULTS"
for round in $(seq 1 "$REPEAT"); do
	log "round $round of $REPEAT"
	start_seedbed
	start_opentracker
	# Memory first, on fresh processes; the throughput runs then find
	# PEERS peers in the swarms, as a busy tracker would.
	measure_memory seedbed "$sb_pid" "$sb_udp" "$pk"
	measure_memory opentracker "$ot_pid" "$ot_addr"
	run_wrk seedbed.http_keepalive "http://$sb_http" 0 "$pk"
	run_wrk opentracker.http_keepalive "http://$ot_addr" 0
	run_wrk seedbed.http_close "http://$sb_http" 1 "$pk"
	run_wrk opentracker.http_close "http://$ot_addr" 1
	run_udp seedbed.udp "$sb_udp" "$UDP_WINDOW" "$pk"
	run_udp opentracker.udp "$ot_addr" "$UDP_WINDOW"
	# Latency at a moderate load: 2 announces in flight per socket.
	run_udp seedbed.udp_moderate "$sb_udp" 2 "$pk"
	run_udp opentracker.udp_moderate "$ot_addr" 2
	stop "$sb_pid"
	stop "$ot_pid"
done

# --- report -------------------------------------------------------------
median() { awk -v k="$1" '$1 == k {print $2}' "$RESULTS" | sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b}'; }

row() { # label key unit
	local s o
	s=$(median "seedbed.$2")
	o=$(median "opentracker.$2")
	echo "| $1 | $s | $o | $(ratio "$s" "$o") |"
}

echo
echo "Tracker vs opentracker: medians of $REPEAT rounds, $DURATION per run, $PEERS peers in $TORRENTS torrents, $USERS passkeys"
echo
echo "| measure | seedbed | opentracker | seedbed / opentracker |"
echo "|---|---|---|---|"
row "HTTP announces/s, keep-alive" http_keepalive.rate
row "HTTP announces/s, new connection each" http_close.rate
row "UDP announces/s" udp.rate
row "HTTP p99 latency (µs), keep-alive" http_keepalive.p99_us
row "HTTP p99 latency (µs), new connection each" http_close.p99_us
row "UDP p99 latency (µs)" udp.p99_us
row "UDP announces/s, moderate load ($((UDP_SOCKETS * 2)) in flight)" udp_moderate.rate
row "UDP p99 latency (µs), moderate load" udp_moderate.p99_us
row "memory: RSS growth per peer (bytes), 2 s after the fill" mem_bytes_per_peer
row "memory: RSS growth per peer (bytes), 30 s after the fill" mem_settled_bytes_per_peer
echo
echo "raw results: $RESULTS"
