#!/usr/bin/env bash
# The sensor under load (issue 5; results in BENCHMARKS.md, "issue 5: sensor
# under load").
#
#   scripts/load-test.sh [MIXED_PCAP] [options]
#
# From a fresh clone: builds the release binary and two examples of the CLI
# crate (crates/cli/examples/many_alerts.rs: a capture in which N distinct
# sources each raise one alert; api_load.rs: concurrent HTTP clients that
# record every request's latency), then
#
#  1. prepares a store with N alerts (default 100,000) the real way: a sensor
#     replays the generated capture once ([capture] replay), and
#     `/api/alerts?limit=1` must report total >= N;
#  2. restarts the sensor on that store with a watched directory holding
#     REPEAT links to MIXED_PCAP (the mixed workload of ../shared/bench, see
#     BENCHMARKS.md; default /work/benchdata/mixed_200mb.pcap), which it
#     replays back to back at full speed, while CLIENTS clients query the API
#     for SECONDS seconds (alert lists with filters and sorts, one alert, the
#     Defender-compatible lists with fromTime, timeline, devices, status,
#     PATCH comments);
#  3. prints p50/p90/p99/max per endpoint class and overall, requests/s, the
#     replays' packets, seconds and packets/s (from /api/status), the
#     capture and replay counters of /metrics and the load average, and
#     fails if p99 >= 100 ms, a request failed, or the sensor dropped
#     packets. The replay path reads files under backpressure and cannot
#     drop; the live variant (--live) is the one that measures drops.
#
# Options:
#   --alerts N      alerts in the store (default 100000; the config keeps
#                   [alerts] max_alerts = max(N, 100000))
#   --seconds S     query time (default 30)
#   --clients C     concurrent API clients (default 8)
#   --rate R        requests per second offered by the clients together, on
#                   a fixed schedule, latency counted from when each request
#                   was due (default 100); 0: closed loop (each client sends
#                   its next request when the last is answered: the most the
#                   API serves, with latencies that grow with the clients)
#   --repeat K      links to MIXED_PCAP in the watched directory (default 20)
#   --dir DIR       work directory (default: a new one under /tmp; kept)
#   --keep-store    reuse DIR's store if it already has N alerts
#   --live IFACE    also run the live variant: the sensor (built with
#                   --features live, run as root) captures IFACE with a BPF
#                   filter while `tcpreplay --topspeed -i IFACE` sends
#                   MIXED_PCAP; kernel and sensor drops are reported
#                   (results in BENCHMARKS.md)
#   --p99-ms X      the p99 bound (default 100)
#   --replay-nice N [capture] replay_nice of the sensor (default: the
#                   sensor's default, 10)
#
# Needs: cargo, curl; for --live also tcpreplay, libpcap-dev and root.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mixed=/work/benchdata/mixed_200mb.pcap
alerts=100000
seconds=30
clients=8
rate=100
repeat=20
dir=
keep=0
live=
p99_bound=100
replay_nice=
while [ $# -gt 0 ]; do
    case "$1" in
    --alerts) alerts=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --keep-store) keep=1; shift ;;
    --live) live=$2; shift 2 ;;
    --p99-ms) p99_bound=$2; shift 2 ;;
    --replay-nice) replay_nice=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "load-test: unknown option $1" >&2; exit 2 ;;
    *) mixed=$1; shift ;;
    esac
done
[ -f "$mixed" ] || {
    echo "load-test: $mixed not found: generate it as BENCHMARKS.md says (../shared/bench/gen_mixed_pcap.py)" >&2
    exit 2
}
mixed=$(cd "$(dirname "$mixed")" && pwd)/$(basename "$mixed")
command -v curl >/dev/null || { echo "load-test: curl is needed" >&2; exit 2; }

features=()
[ -n "$live" ] && features=(--features live)
echo "== build (release)"
(cd "$here" && cargo build --release --locked -q -p otwatch "${features[@]}" \
    --bin otwatch --example many_alerts --example api_load)
bin=$here/target/release/otwatch
ex=$here/target/release/examples

[ -n "$dir" ] || dir=$(mktemp -d /tmp/otwatch-load.XXXXXX)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
echo "== work directory $dir"
max_alerts=$((alerts > 100000 ? alerts : 100000))
# A free port: nothing answers a connection to it.
port=
for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000)) # below the ephemeral range
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "load-test: no free port found" >&2; exit 1; }
base=http://127.0.0.1:$port
pid=

config() { # $1: [capture] lines
    cat >"$dir/sensor.toml" <<EOF
[sensor]
name = "load"
[api]
listen = "127.0.0.1:$port"
tls = false
max_page = 1000
[store]
path = "data"
[alerts]
max_alerts = $max_alerts
# The captures carry 2023 timestamps: a sensor started later (pipeline time
# not yet set, so wall time) would close and then delete their alerts.
auto_close_days = 36500
retention_days = 36500
[capture]
$1
${replay_nice:+replay_nice = $replay_nice}
EOF
}

api() { curl -sS --max-time 20 -H "Authorization: $token" "$base$1"; }

start() {
    "$bin" sensor --config "$dir/sensor.toml" >"$dir/sensor.out" 2>>"$dir/sensor.log" &
    pid=$!
    for _ in $(seq 1 300); do
        curl -sf "$base/api/health" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "load-test: the sensor did not start:" >&2
    tail -20 "$dir/sensor.log" >&2
    exit 1
}

stop() {
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
}
trap stop EXIT

# Waits until no replay is pending and at least $1 are logged.
wait_replays() {
    local s
    for _ in $(seq 1 36000); do
        s=$(api /api/status)
        if [ "$(jq -r '.replays_pending' <<<"$s")" = 0 ] && [ "$(jq -r '.replays | length' <<<"$s")" -ge "$1" ]; then
            return 0
        fi
        sleep 0.5
    done
    echo "load-test: replays did not finish" >&2
    exit 1
}

command -v jq >/dev/null || { echo "load-test: jq is needed" >&2; exit 2; }

# ---- 1. a store with N alerts -------------------------------------------
config 'replay = []'
token=$("$bin" token create --config "$dir/sensor.toml" --role admin --name "load-$$")
have=0
if [ "$keep" = 1 ]; then
    start
    have=$(api '/api/alerts?limit=1&count=exact' | jq -r .total)
    stop
fi
if [ "$have" -lt "$alerts" ]; then
    echo "== 1. store with $alerts alerts (many_alerts capture replayed once)"
    "$ex/many_alerts" "$dir/many.pcap" "$alerts"
    config 'replay = ["many.pcap"]'
    t0=$(date +%s%N)
    start
    wait_replays 1
    total=$(api '/api/alerts?limit=1&count=exact' | jq -r .total)
    # The last alerts of a replay are written by the batching writer.
    for _ in $(seq 1 100); do
        [ "$total" -ge "$alerts" ] && break
        sleep 0.2
        total=$(api '/api/alerts?limit=1&count=exact' | jq -r .total)
    done
    echo "   stored alerts: $total ($(api /api/status | jq -c '.replays[-1]')), $(( ($(date +%s%N) - t0) / 1000000 )) ms from start to all stored"
    stop
    [ "$total" -ge "$alerts" ] || { echo "load-test: only $total alerts stored, wanted $alerts" >&2; exit 1; }
fi

# ---- 2. mixed workload replayed while the API is queried -----------------
if [ "$rate" = 0 ]; then offered="closed loop"; else offered="$rate requests/s offered"; fi
echo "== 2. $repeat replays of $(basename "$mixed") at full speed, $clients API clients ($offered) for $seconds s"
rm -rf "$dir/inbox"
mkdir -p "$dir/inbox"
for i in $(seq -w 1 "$repeat"); do ln -s "$mixed" "$dir/inbox/mixed-$i.pcap"; done
config 'replay = []
watch = "inbox"
watch_interval_secs = 1'
start
# Queries start once the first replay runs.
for _ in $(seq 1 100); do
    [ "$(api /api/status | jq -r '.replays_pending')" -gt 0 ] && break
    sleep 0.1
done
(uptime; while sleep 5; do uptime; done) >"$dir/loadavg.log" &
lpid=$!
# Beside the mix: an integration's first, full read of /api/v2/alerts (the
# newest 10,000 alerts), three times during the queries; reported apart.
(sleep 2; for _ in 1 2 3; do
    curl -sS -o /dev/null --max-time 60 -H "Authorization: $token" \
        -w '%{http_code} %{time_total} s %{size_download} bytes\n' "$base/api/v2/alerts"
done) >"$dir/v2-full.txt" 2>&1 &
fpid=$!
status=0
rm -f "$dir/latency.json"
"$ex/api_load" --addr "127.0.0.1:$port" --token "$token" --clients "$clients" \
    --seconds "$seconds" --rate "$rate" --json "$dir/latency.json" | tee "$dir/latency.txt" || status=1
kill "$lpid" 2>/dev/null || true
wait "$fpid" || true
echo "   full GET /api/v2/alerts (not in the mix): $(paste -sd ';' "$dir/v2-full.txt")"
during=$(api /api/status)
pending=$(jq -r .replays_pending <<<"$during")
if [ "$pending" -gt 0 ]; then
    echo "   the replay was still running when the queries ended ($pending replays pending): all queries ran under replay load"
else
    echo "load-test: WARNING: the replays ended before the queries; raise --repeat" >&2
fi
wait_replays "$repeat"
st=$(api /api/status)
jq -r '.replays[] | "   replay \(.files | split("/") | last): \(.packets) packets in \(.seconds * 100 | round / 100) s = \(.packets / .seconds | round) packets/s\(if .error then " ERROR \(.error)" else "" end)"' <<<"$st"
jq -r '"   all replays: \([.replays[].packets] | add) packets in \([.replays[].seconds] | add * 100 | round / 100) s = \(([.replays[].packets] | add) / ([.replays[].seconds] | add) | round) packets/s"' <<<"$st"
echo "   /metrics:"
api /metrics >"$dir/metrics.txt"
grep -E '^otwatch_(capture_|replay|packets_total|alerts_created_total|store_errors|store_commit_seconds_max|api_requests_total)' "$dir/metrics.txt" | sed 's/^/     /'
echo "   load average during the run (other processes on the machine included):"
sed 's/^/     /' "$dir/loadavg.log"
stop

dropped=$(grep -E '^otwatch_(capture_sensor_dropped_total|replay_errors_total)' "$dir/metrics.txt" | awk '{s+=$NF} END {print s+0}')
p99=$(jq -r '.classes[] | select(.class == "overall") | .p99_ms' "$dir/latency.json")
echo "== overall p99 $p99 ms (bound $p99_bound ms)"
awk -v p="$p99" -v b="$p99_bound" 'BEGIN { exit !(p < b) }' || { echo "load-test: p99 $p99 ms >= $p99_bound ms" >&2; status=1; }
[ "$dropped" = 0 ] || status=1

# ---- 3. live variant ------------------------------------------------------
if [ -n "$live" ]; then
    command -v tcpreplay >/dev/null || { echo "load-test: tcpreplay is needed for --live" >&2; exit 2; }
    echo "== 3. live: capture on $live while tcpreplay --topspeed sends $(basename "$mixed")"
    config "replay = []
interfaces = [\"$live\"]
filter = \"not tcp port $port\"
direction = \"in\"
buffer_mib = 256"
    start
    (uptime; while sleep 5; do uptime; done) >"$dir/loadavg-live.log" &
    lpid=$!
    "$ex/api_load" --addr "127.0.0.1:$port" --token "$token" --clients "$clients" \
        --seconds "$seconds" --rate "$rate" --json "$dir/latency-live.json" >"$dir/latency-live.txt" &
    qpid=$!
    tcpreplay --topspeed -i "$live" "$mixed" 2>&1 | grep -E 'Actual|Rated|Statistics|Successful|Failed' | sed 's/^/   /'
    wait "$qpid" || status=1
    kill "$lpid" 2>/dev/null || true
    sed 's/^/   /' "$dir/latency-live.txt"
    sleep 2
    api /metrics | grep -E '^otwatch_capture_' | sed 's/^/     /'
    sed 's/^/     /' "$dir/loadavg-live.log"
    stop
fi
exit "$status"
