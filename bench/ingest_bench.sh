#!/usr/bin/env bash
# Figures for `chfleet ingest serve` (sync mode) on the teei sandbox, printed, never asserted: rows/s and
# p50/p99 INSERT latency of the same load written two ways, alternately in one sequence, ROUNDS times:
#  - direct: the application splits each batch by its companies' regions and INSERTs each part into that
#    region's Distributed table (events_us_distributed / events_eu_distributed, insert_distributed_sync=1), on
#    one node per region, both parts concurrently: what an application does without chfleet;
#  - ingest: the application INSERTs the whole batch into teei.events at chfleet ingest serve.
# For CLIENTS x BATCH_ROWS in (1, 50) x (1000, 10000); each run sends max(MIN_BATCHES, ROWS_PER_RUN /
# (clients x batch)) batches per client. Prints the medians, the median ratio ingest/direct (the figure that
# survives a noisy machine), the ingest server's CPU seconds per million rows and its peak RSS (VmHWM), and the
# CPU seconds per million rows of the whole fleet (every server and keeper of the sandbox, plus the ingest
# server in ingest runs) for each path: on a machine the load saturates, that is what decides throughput. Then
# checks, per mode, that every acknowledged row is in the fleet, and that no EU row sits on a US shard; exits 1
# if not. About 6 minutes on 2 cores.
# Usage: bench/ingest_bench.sh [BUILD/chfleet]   (chfleet_ingest_load is taken from the same folder)
set -euo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
LOAD=$(dirname "$CHFLEET")/chfleet_ingest_load
CLIENTS=${CLIENTS:-"1 50"}
BATCH_ROWS=${BATCH_ROWS:-"1000 10000"}
ROUNDS=${ROUNDS:-3}
ROWS_PER_RUN=${ROWS_PER_RUN:-20000}
MIN_BATCHES=${MIN_BATCHES:-4}
COMPANIES=${COMPANIES:-1000}
# The sandbox ends with ~5 GB in ~2 million files (18.16 writes two files per column per part), and deleting
# them takes over 10 minutes on a disk mounted with `discard`. In memory (/dev/shm, when it has 8 GiB free)
# it takes seconds; TMPDIR chooses the place.
if [ -z "${TMPDIR:-}" ] && [ "$(df -k --output=avail /dev/shm 2>/dev/null | tail -n 1)" -gt $((8 << 20)) ] 2>/dev/null; then
  TMPDIR=/dev/shm
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chfleet-ingest-bench-XXXXXX")
DIR=$WORK/sandbox
FLEET=$DIR/fleet.yaml
INGEST_PID=""

cleanup() {
  if [ -n "$INGEST_PID" ] && kill -0 "$INGEST_PID" 2>/dev/null; then
    kill -TERM "$INGEST_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$INGEST_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$INGEST_PID" 2>/dev/null || true
  fi
  "$CHFLEET" sandbox down --dir "$DIR" --purge --log-level warn >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$LOAD" ] || { echo "ingest_bench: $LOAD not found: build it (make build)" >&2; exit 1; }
started=$(date +%s)
q() { "$CHFLEET" query -f "$FLEET" --log-level warn "$@"; }
http_port() { grep "name: $1," "$FLEET" | grep -o 'http_port: [0-9]*' | awk '{print $2}'; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
json_field() { grep -o "\"$1\":[0-9.e+-]*" | head -n 1 | cut -d: -f2; }
med() {  # mode key field -> median of the field over the rounds
  while read -r line; do echo "$line" | json_field "$3"; done <"$WORK/$1-$2.jsonl" | median
}
sum() {  # mode key field -> sum of the field over the rounds
  while read -r line; do echo "$line" | json_field "$3"; done <"$WORK/$1-$2.jsonl" | awk '{s += $1} END {print s + 0}'
}
free_port() {  # a loopback port nothing listens on (bash's /dev/tcp connect fails)
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  echo "ingest_bench: no free port found" >&2; return 1
}

echo "== teei sandbox up in $WORK, schema, $COMPANIES companies (60% US, 40% EU)"
"$CHFLEET" sandbox up -f examples/teei/fleet.yaml --dir "$DIR" --base-port 0 --log-level warn >/dev/null
"$CHFLEET" schema apply -f "$FLEET" --log-level warn >/dev/null
CHFLEET_PASSWORD=$(cat "$DIR/secrets/password")
export CHFLEET_PASSWORD INGEST_PASSWORD=ingest-demo  # the examples' published ingest password (sandbox only)
us_count=$((COMPANIES * 6 / 10))
{
  for i in $(seq 1 "$COMPANIES"); do
    if [ "$i" -le "$us_count" ]; then printf 'bench-us-%04d,us-east-1\n' "$i"; else printf 'bench-eu-%04d,eu-central-1\n' "$i"; fi
  done
} >"$WORK/companies.csv"
"$CHFLEET" residency import -f "$FLEET" --log-level warn "$WORK/companies.csv" >/dev/null

PORT=$(free_port)
"$CHFLEET" ingest serve -f "$FLEET" --listen "127.0.0.1:$PORT" --site primary --mode sync --log-level warn \
  >"$WORK/ingest.log" 2>&1 &
INGEST_PID=$!
for _ in $(seq 1 100); do
  [ "$(curl -s "http://127.0.0.1:$PORT/ping" 2>/dev/null)" = "Ok." ] && break
  kill -0 "$INGEST_PID" 2>/dev/null || { echo "ingest_bench: chfleet ingest serve exited:" >&2; tail -n 20 "$WORK/ingest.log" >&2; exit 1; }
  sleep 0.2
done
[ "$(curl -s "http://127.0.0.1:$PORT/ping")" = "Ok." ] || { echo "ingest_bench: ingest serve does not answer /ping" >&2; exit 1; }
echo "chfleet ingest serve pid $INGEST_PID on 127.0.0.1:$PORT (sync mode)"

declare -A acknowledged=([direct]=0 [ingest]=0) failed=([direct]=0 [ingest]=0)
client_check_rows=0
node_check=tests/integration/ingest/node
if command -v node >/dev/null && [ -d "$node_check/node_modules/@clickhouse/client" ]; then
  echo "== official client (@clickhouse/client) against ingest serve"
  node "$node_check/client_check.mjs" --url "http://127.0.0.1:$PORT" --user app --password-env INGEST_PASSWORD \
    --companies bench-us-0001,"$(printf 'bench-eu-%04d' "$COMPANIES")"
  client_check_rows=100
else
  echo "(official client check skipped: node or $node_check/node_modules missing; run scripts/install-deps.sh)"
fi

common=(--companies-file "$WORK/companies.csv" --json --log-level warn)
ingest_args=(--mode ingest --url "http://127.0.0.1:$PORT" --user app --password-env INGEST_PASSWORD)
direct_args=(--mode direct --direct-us-url "http://127.0.0.1:$(http_port clickhouse-us-0)"
  --direct-eu-url "http://127.0.0.1:$(http_port clickhouse-eu-0)" --user chfleet --password-env CHFLEET_PASSWORD)
clock_ticks=$(getconf CLK_TCK)
cpu_seconds() {  # PID... -> their user + system CPU time so far, summed
  local pid
  for pid in "$@"; do cat "/proc/$pid/stat" 2>/dev/null || true; done |
    awk -v hz="$clock_ticks" '{s += $14 + $15} END {printf "%.2f\n", s / hz}'
}
server_cpu_seconds() { cpu_seconds "$INGEST_PID"; }
# Every ClickHouse server and ZooKeeper of the sandbox. Work a run leaves behind (merges, replica fetches) is
# counted in the next run, of the other path: the alternation spreads it evenly.
mapfile -t fleet_pids < <(grep -o '"pid": [0-9]*' "$DIR/sandbox.json" | awk '{print $2}')
run_load() {  # mode clients batch_rows batches -> the load generator's JSON line
  local mode=$1 out
  local -a args=("${ingest_args[@]}")
  [ "$mode" = direct ] && args=("${direct_args[@]}")
  out=$("$LOAD" "${args[@]}" "${common[@]}" --clients "$2" --batch-rows "$3" --batches-per-client "$4") || true
  [ -n "$out" ] || { echo "ingest_bench: the load generator failed ($mode)" >&2; exit 1; }
  echo "$out"
}

echo "== runs: $ROUNDS rounds of (direct, ingest) per configuration"
printf '%-6s %7s %10s %7s %6s %11s %9s %9s %6s %10s\n' mode clients batch_rows batches round rows_per_s p50_ms p99_ms errors srv_cpu_s
for c in $CLIENTS; do
  for b in $BATCH_ROWS; do
    n=$((ROWS_PER_RUN / (c * b)))
    [ "$n" -ge "$MIN_BATCHES" ] || n=$MIN_BATCHES
    key="$c-$b"
    for round in $(seq 1 "$ROUNDS"); do
      for mode in direct ingest; do
        cpu_before=$(server_cpu_seconds)
        fleet_before=$(cpu_seconds "${fleet_pids[@]}" "$INGEST_PID")
        line=$(run_load "$mode" "$c" "$b" "$n") || exit 1
        echo "$(cpu_seconds "${fleet_pids[@]}" "$INGEST_PID") $fleet_before $(echo "$line" | json_field rows)" |
          awk '{printf "%.3f\n", ($1 - $2) * 1e6 / $3}' >>"$WORK/fleetcpu-$mode-$key.txt"
        cpu="-"
        if [ "$mode" = ingest ]; then
          cpu=$(printf '%.2f' "$(echo "$(server_cpu_seconds) - $cpu_before" | bc -l)")
          echo "$cpu $(echo "$line" | json_field rows)" | awk '{printf "%.3f\n", $1 * 1e6 / $2}' >>"$WORK/cpu-$key.txt"
        fi
        echo "$line" >>"$WORK/$mode-$key.jsonl"
        e=$(echo "$line" | json_field errors)
        failed[$mode]=$((failed[$mode] + e))
        acknowledged[$mode]=$((acknowledged[$mode] + $(echo "$line" | json_field rows)))
        printf '%-6s %7s %10s %7s %6s %11.0f %9.1f %9.1f %6s %10s\n' "$mode" "$c" "$b" "$n" "$round" \
          "$(echo "$line" | json_field rows_per_s)" "$(echo "$line" | json_field p50_ms)" \
          "$(echo "$line" | json_field p99_ms)" "$e" "$cpu"
      done
      paste -d' ' <(tail -n 1 "$WORK/ingest-$key.jsonl" | json_field rows_per_s) \
        <(tail -n 1 "$WORK/direct-$key.jsonl" | json_field rows_per_s) |
        awk '{printf "%.4f\n", $1 / $2}' >>"$WORK/ratio-$key.txt"
    done
  done
done
peak_rss_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$INGEST_PID/status")

echo
echo "== medians of $ROUNDS rounds (rows/s; latency of one INSERT of a batch, in ms; err: failed batches, all rounds)"
printf '%7s %10s | %11s %8s %8s %4s | %11s %8s %8s %4s %10s | %13s\n' clients batch_rows direct_rows_s p50 p99 err \
  ingest_rows_s p50 p99 err cpu_s/Mrow ingest/direct
for c in $CLIENTS; do
  for b in $BATCH_ROWS; do
    key="$c-$b"
    printf '%7s %10s | %11.0f %8.1f %8.1f %4s | %11.0f %8.1f %8.1f %4s %10.1f | %13.2f\n' "$c" "$b" \
      "$(med direct "$key" rows_per_s)" "$(med direct "$key" p50_ms)" "$(med direct "$key" p99_ms)" \
      "$(sum direct "$key" errors)" \
      "$(med ingest "$key" rows_per_s)" "$(med ingest "$key" p50_ms)" "$(med ingest "$key" p99_ms)" \
      "$(sum ingest "$key" errors)" "$(median <"$WORK/cpu-$key.txt")" "$(median <"$WORK/ratio-$key.txt")"
  done
done
printf 'ingest server peak RSS (VmHWM): %.1f MiB\n' "$(echo "$peak_rss_kib / 1024" | bc -l)"

echo
echo "== fleet CPU seconds per million rows (all servers and keepers, plus chfleet ingest in ingest runs; medians)"
printf '%7s %10s | %10s %10s | %13s\n' clients batch_rows direct ingest ingest/direct
for c in $CLIENTS; do
  for b in $BATCH_ROWS; do
    key="$c-$b"
    d=$(median <"$WORK/fleetcpu-direct-$key.txt")
    i=$(median <"$WORK/fleetcpu-ingest-$key.txt")
    printf '%7s %10s | %10.1f %10.1f | %13.2f\n' "$c" "$b" "$d" "$i" "$(echo "$i / $d" | bc -l)"
  done
done

echo
echo "== every acknowledged row is in the fleet; no EU row on a US shard"
# A failed batch may have been written in part (a Distributed INSERT is not atomic across shards), so rows
# stored can exceed rows acknowledged; fewer would be rows lost.
q --all --site primary "SYSTEM SYNC REPLICA teei.events_local" >/dev/null
read -r stored_direct stored_ingest < <(q clickhouse-us-0 "SELECT countIf(position(payload, 'bench-direct') > 0),
  countIf(position(payload, 'bench-ingest') > 0) FROM teei.events_distributed WHERE company_id LIKE 'bench-%'")
misplaced=$(q --all --region us-east-1 --site primary \
  "SELECT count() FROM teei.events_local WHERE company_id LIKE 'bench-eu-%'" | awk -F'\t' '{s += $6} END {print s + 0}')
printf '%-7s %14s %14s %14s\n' mode acknowledged stored failed_batches
printf '%-7s %14s %14s %14s\n' direct "${acknowledged[direct]}" "$stored_direct" "${failed[direct]}" \
  ingest "${acknowledged[ingest]}" "$stored_ingest" "${failed[ingest]}"
echo "(the client check's $client_check_rows rows are in neither count)"
echo "EU rows on US shards: $misplaced"
echo "total time: $(($(date +%s) - started)) s"
if [ $((failed[direct] + failed[ingest])) -gt 0 ]; then
  echo "WARNING: some batches failed (first errors above): the figures of those runs count only acknowledged rows" >&2
fi
if [ "$stored_direct" -lt "${acknowledged[direct]}" ] || [ "$stored_ingest" -lt "${acknowledged[ingest]}" ] ||
  [ "$misplaced" != 0 ]; then
  echo "ingest_bench: acknowledged rows are missing, or EU rows sit on US shards" >&2
  exit 1
fi
