#!/usr/bin/env bash
# Figures for `chfleet ingest serve` on the teei sandbox, printed, never asserted: rows/s and p50/p99 INSERT
# latency of the same load written three ways, in turn in one sequence, ROUNDS times:
#  - direct: the application splits each batch by its companies' regions and INSERTs each part into that
#    region's Distributed table (events_us_distributed / events_eu_distributed, insert_distributed_sync=1), on
#    one node per region, both parts concurrently: what an application does without chfleet;
#  - ingest: the application INSERTs the whole batch into teei.events at chfleet ingest serve in sync mode
#    (200 = committed on the shards, as with the direct path);
#  - async: the same at a second chfleet ingest serve in async mode (200 = fdatasync'ed in its spool, on disk:
#    SPOOL_TMPDIR, default /var/tmp). Its throughput counts until the spool is drained, i.e. until every row is
#    committed in ClickHouse, so it compares with the direct path like for like; its latency is the answer's.
# For CLIENTS x BATCH_ROWS in (1, 50) x (1000, 10000); each run sends ROWS_PER_RUN / (clients x batch)
# batches per client, at least MIN_BATCHES and at most MAX_BATCHES (a lone client's runs are long enough for
# a few slow inserts not to decide its figure).
# Each configuration runs in two CPU layouts (LAYOUTS):
#  - split: the fleet (every ClickHouse server and ZooKeeper) on the first half of the CPUs, the ingest servers
#    and the load generator on the other half, with taskset. ClickHouse has the same CPUs in both paths, and
#    ingest runs on CPUs of its own, as an ingest tier on hosts of its own does: this compares the paths.
#  - shared: every process on every CPU. Ingest's CPU is then taken from ClickHouse's; on a machine the load
#    saturates, that is what decides a lone client's throughput (see docs/ingest.md).
# Prints the medians, the median ratios to direct (the figures that survive a noisy machine), the ingest
# servers' CPU seconds per million rows and peak RSS (VmHWM), and the CPU seconds per million rows of the
# whole fleet (every server and keeper of the sandbox, plus the ingest servers) for each path, counted until
# the fleet has settled after the run. Each run starts on a settled fleet and on empty tables. Then checks that
# every acknowledged row is in the fleet, and that no EU row sits on a US shard; exits 1 if not. About 21
# minutes on 2 cores.
# Usage: bench/ingest_bench.sh [BUILD/chfleet]   (chfleet_ingest_load is taken from the same folder)
set -eEuo pipefail  # -E: the ERR trap below also reports a failure inside a function
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
LOAD=$(dirname "$CHFLEET")/chfleet_ingest_load
CLIENTS=${CLIENTS:-"1 50"}
BATCH_ROWS=${BATCH_ROWS:-"1000 10000"}
ROUNDS=${ROUNDS:-3}
ROWS_PER_RUN=${ROWS_PER_RUN:-300000}
MIN_BATCHES=${MIN_BATCHES:-4}
MAX_BATCHES=${MAX_BATCHES:-60}
COMPANIES=${COMPANIES:-1000}
LAYOUTS=${LAYOUTS:-"split shared"}
CPUS=$(nproc)
if [ "$CPUS" -lt 2 ]; then
  LAYOUTS=shared  # nothing to split
fi
ALL_CPUS=0-$((CPUS - 1))
FLEET_CPUS=0-$((CPUS / 2 - 1))
TIER_CPUS=$((CPUS / 2))-$((CPUS - 1))
# A run of 50 clients leaves a few GB in up to a million files (18.16 writes two files per column per part;
# see check_and_drop), and deleting them takes minutes on a disk mounted with `discard`. In memory (/dev/shm,
# when it has 8 GiB free) it takes seconds; TMPDIR chooses the place.
if [ -z "${TMPDIR:-}" ] && [ "$(df -k --output=avail /dev/shm 2>/dev/null | tail -n 1)" -gt $((8 << 20)) ] 2>/dev/null; then
  TMPDIR=/dev/shm
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chfleet-ingest-bench-XXXXXX")
SPOOL=$(mktemp -d "${SPOOL_TMPDIR:-/var/tmp}/chfleet-ingest-bench-spool-XXXXXX")
DIR=$WORK/sandbox
FLEET=$DIR/fleet.yaml
INGEST_PID=""
ASYNC_PID=""

stop_pid() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop_pid "$INGEST_PID"
  stop_pid "$ASYNC_PID"
  "$CHFLEET" sandbox down --dir "$DIR" --purge --log-level warn >/dev/null 2>&1 || true
  rm -rf "$WORK" "$SPOOL"
}
trap cleanup EXIT
trap 'echo "ingest_bench: line $LINENO failed (status $?): $BASH_COMMAND" >&2' ERR

[ -x "$LOAD" ] || { echo "ingest_bench: $LOAD not found: build it (make build)" >&2; exit 1; }
started=$(date +%s)
# A burst of direct inserts can expire a server's ZooKeeper session: its replicated tables are read-only until it
# reconnects, so a statement that fails is tried again for up to a minute, and its output is shown if it never
# succeeds (`chfleet query --all` names each node's error on stdout).
q() {
  local out
  for _ in $(seq 1 30); do
    if out=$("$CHFLEET" query -f "$FLEET" --log-level warn "$@" 2>"$WORK/query.err"); then
      printf '%s\n' "$out"
      return 0
    fi
    sleep 2
  done
  echo "ingest_bench: chfleet query $* failed for a minute:" >&2
  printf '%s\n' "$out" >&2
  cat "$WORK/query.err" >&2
  return 1
}
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

start_ingest() {  # PORT LOG ARGS... -> the server's pid, once it answers /ping
  local port=$1 log=$2 pid
  shift 2
  "$CHFLEET" ingest serve -f "$FLEET" --listen "127.0.0.1:$port" --site primary --log-level warn "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    [ "$(curl -s "http://127.0.0.1:$port/ping" 2>/dev/null)" = "Ok." ] && break
    kill -0 "$pid" 2>/dev/null || { echo "ingest_bench: chfleet ingest serve exited:" >&2; tail -n 20 "$log" >&2; exit 1; }
    sleep 0.2
  done
  [ "$(curl -s "http://127.0.0.1:$port/ping")" = "Ok." ] || { echo "ingest_bench: ingest serve does not answer /ping" >&2; exit 1; }
  echo "$pid"
}
PORT=$(free_port)
INGEST_PID=$(start_ingest "$PORT" "$WORK/ingest.log" --mode sync)
echo "chfleet ingest serve pid $INGEST_PID on 127.0.0.1:$PORT (sync mode)"
ASYNC_PORT=$(free_port)
ASYNC_PID=$(start_ingest "$ASYNC_PORT" "$WORK/async.log" --mode async --spool-dir "$SPOOL")
echo "chfleet ingest serve pid $ASYNC_PID on 127.0.0.1:$ASYNC_PORT (async mode, spool $SPOOL)"

declare -A acknowledged=([direct]=0 [ingest]=0 [async]=0) failed=([direct]=0 [ingest]=0 [async]=0)
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
async_args=(--mode ingest --url "http://127.0.0.1:$ASYNC_PORT" --user app --password-env INGEST_PASSWORD)
direct_args=(--mode direct --direct-us-url "http://127.0.0.1:$(http_port clickhouse-us-0)"
  --direct-eu-url "http://127.0.0.1:$(http_port clickhouse-eu-0)" --user chfleet --password-env CHFLEET_PASSWORD)
clock_ticks=$(getconf CLK_TCK)
cpu_seconds() {  # PID... -> their user + system CPU time so far, summed
  local pid
  for pid in "$@"; do cat "/proc/$pid/stat" 2>/dev/null || true; done |
    awk -v hz="$clock_ticks" '{s += $14 + $15} END {printf "%.2f\n", s / hz}'
}
metric() {  # PORT NAME -> the value of an unlabelled metric of an ingest server
  curl -s "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 == name {print $2}'
}
wait_drained() {  # -> seconds until the async server's spool and buffers are empty (every row committed)
  local start now
  start=$(date +%s.%N)
  for _ in $(seq 1 30000); do
    [ "$(metric "$ASYNC_PORT" chfleet_ingest_spool_slices)" = 0 ] &&
      [ "$(metric "$ASYNC_PORT" chfleet_ingest_buffered_bytes)" = 0 ] && break
    sleep 0.01
  done
  now=$(date +%s.%N)
  echo "$now - $start" | bc -l
}
# Every ClickHouse server and ZooKeeper of the sandbox, and the two ingest servers.
mapfile -t fleet_pids < <(grep -o '"pid": [0-9]*' "$DIR/sandbox.json" | awk '{print $2}')
fleet_cpu() { cpu_seconds "${fleet_pids[@]}" "$INGEST_PID" "$ASYNC_PID"; }
# A run leaves work behind (merges, replica fetches, the materialized view's parts): left alone, the next run,
# of another path, would pay for it. So each run starts on a settled fleet, and its CPU is counted until the
# fleet has settled again: until its CPU use over half a second is back near its idle level.
idle_before=$(fleet_cpu)
sleep 3
idle_rate=$(echo "($(fleet_cpu) - $idle_before) / 3" | bc -l)
settle() {  # at most 20 s (the fleet has half the CPUs in the split layout)
  local before after
  for _ in $(seq 1 40); do
    before=$(fleet_cpu)
    sleep 0.5
    after=$(fleet_cpu)
    awk -v a="$after" -v b="$before" -v idle="$idle_rate" 'BEGIN {exit !((a - b) / 0.5 <= idle + 0.1)}' && return
  done
  return 0  # not settled in time: go on (the last test's status must not stop the script under set -e)
}
# The CPUs of each layout: the fleet's processes (all their threads; threads started later inherit it) and
# the ingest servers are moved with taskset; the load generator starts on LOAD_CPUS.
use_layout() {  # split | shared
  local fleet=$ALL_CPUS tier=$ALL_CPUS pid
  if [ "$1" = split ]; then
    fleet=$FLEET_CPUS
    tier=$TIER_CPUS
  fi
  for pid in "${fleet_pids[@]}"; do taskset -a -c -p "$fleet" "$pid" >/dev/null; done
  for pid in "$INGEST_PID" "$ASYNC_PID"; do taskset -a -c -p "$tier" "$pid" >/dev/null; done
  LOAD_CPUS=$tier
}
run_load() {  # mode clients batch_rows batches -> the load generator's JSON line
  local mode=$1 out
  local -a args=("${ingest_args[@]}")
  [ "$mode" = direct ] && args=("${direct_args[@]}")
  [ "$mode" = async ] && args=("${async_args[@]}")
  out=$(taskset -c "$LOAD_CPUS" "$LOAD" "${args[@]}" "${common[@]}" --clients "$2" --batch-rows "$3" \
    --batches-per-client "$4") || true
  [ -n "$out" ] || { echo "ingest_bench: the load generator failed ($mode)" >&2; exit 1; }
  echo "$out"
}

# After each run: every acknowledged row is in the fleet and no EU row sits on a US shard (counted here), then
# the rows are dropped. So every run starts on empty tables (not on the parts, and the merges, of the run
# before it, which is always of another path), and the sandbox holds one run's data at a time (the parts of
# the whole sequence, with the merged-away copies ClickHouse keeps for 8 minutes, came to 15 GB and filled
# the memory).
stored_direct=0
stored_ingest=0
misplaced=0
check_and_drop() {
  local counts d i m
  q --all --site primary "SYSTEM SYNC REPLICA teei.events_local" >/dev/null
  counts=$(q clickhouse-us-0 "SELECT countIf(position(payload, 'bench-direct') > 0),
    countIf(position(payload, 'bench-ingest') > 0) FROM teei.events_distributed WHERE company_id LIKE 'bench-%'")
  read -r d i <<<"$counts"
  m=$(q --all --region us-east-1 --site primary \
    "SELECT count() FROM teei.events_local WHERE company_id LIKE 'bench-eu-%'" | awk -F'\t' '{s += $6} END {print s + 0}')
  stored_direct=$((stored_direct + d))
  stored_ingest=$((stored_ingest + i))
  misplaced=$((misplaced + m))
  q --all --site primary "TRUNCATE TABLE teei.events_local" >/dev/null
}

echo "== runs: $ROUNDS rounds of (direct, ingest, async) per configuration and layout"
printf '%-6s %-6s %7s %10s %7s %6s %11s %9s %9s %6s %10s %11s\n' layout mode clients batch_rows batches round \
  rows_per_s p50_ms p99_ms errors srv_cpu_s committed/s
for layout in $LAYOUTS; do
  use_layout "$layout"
  for c in $CLIENTS; do
    for b in $BATCH_ROWS; do
      n=$((ROWS_PER_RUN / (c * b)))
      [ "$n" -ge "$MIN_BATCHES" ] || n=$MIN_BATCHES
      [ "$n" -le "$MAX_BATCHES" ] || n=$MAX_BATCHES
      key="$layout-$c-$b"
      for round in $(seq 1 "$ROUNDS"); do
        for mode in direct ingest async; do
          server=$INGEST_PID
          [ "$mode" = async ] && server=$ASYNC_PID
          settle
          cpu_before=$(cpu_seconds "$server")
          fleet_before=$(fleet_cpu)
          line=$(run_load "$mode" "$c" "$b" "$n") || exit 1
          rows=$(echo "$line" | json_field rows)
          # Rows per second until committed in ClickHouse: for async, until its spool is drained.
          committed=$(echo "$line" | json_field rows_per_s)
          if [ "$mode" = async ]; then
            drain=$(wait_drained)
            committed=$(echo "$rows / ($(echo "$line" | json_field seconds) + $drain)" | bc -l)
          fi
          echo "$committed" >>"$WORK/committed-$mode-$key.txt"
          settle
          echo "$(fleet_cpu) $fleet_before $rows" |
            awk '{printf "%.3f\n", ($1 - $2) * 1e6 / $3}' >>"$WORK/fleetcpu-$mode-$key.txt"
          cpu="-"
          if [ "$mode" != direct ]; then
            cpu=$(printf '%.2f' "$(echo "$(cpu_seconds "$server") - $cpu_before" | bc -l)")
            echo "$cpu $rows" | awk '{printf "%.3f\n", $1 * 1e6 / $2}' >>"$WORK/cpu-$mode-$key.txt"
          fi
          echo "$line" >>"$WORK/$mode-$key.jsonl"
          check_and_drop
          e=$(echo "$line" | json_field errors)
          failed[$mode]=$((failed[$mode] + e))
          acknowledged[$mode]=$((acknowledged[$mode] + rows))
          printf '%-6s %-6s %7s %10s %7s %6s %11.0f %9.1f %9.1f %6s %10s %11.0f\n' "$layout" "$mode" "$c" "$b" "$n" "$round" \
            "$(echo "$line" | json_field rows_per_s)" "$(echo "$line" | json_field p50_ms)" \
            "$(echo "$line" | json_field p99_ms)" "$e" "$cpu" "$committed"
        done
        for mode in ingest async; do
          paste -d' ' <(tail -n 1 "$WORK/committed-$mode-$key.txt") <(tail -n 1 "$WORK/committed-direct-$key.txt") |
            awk '{printf "%.4f\n", $1 / $2}' >>"$WORK/ratio-$mode-$key.txt"
        done
      done
    done
  done
done
use_layout shared
rss_mib() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

echo
echo "== medians of $ROUNDS rounds (rows/s committed in ClickHouse; latency of one INSERT of a batch, in ms; err:"
echo "   failed batches, all rounds; cpu: the ingest server's CPU seconds per million rows)"
printf '%-6s %7s %10s | %9s %7s %7s %3s | %9s %7s %7s %3s %4s %5s | %9s %7s %7s %3s %4s %5s\n' layout clients \
  batch_rows direct p50 p99 err sync p50 p99 err cpu ratio async ack_p50 ack_p99 err cpu ratio
for layout in $LAYOUTS; do
  for c in $CLIENTS; do
    for b in $BATCH_ROWS; do
      key="$layout-$c-$b"
      row=("$layout" "$c" "$b" "$(median <"$WORK/committed-direct-$key.txt")" "$(med direct "$key" p50_ms)"
        "$(med direct "$key" p99_ms)" "$(sum direct "$key" errors)")
      for mode in ingest async; do
        row+=("$(median <"$WORK/committed-$mode-$key.txt")" "$(med "$mode" "$key" p50_ms)"
          "$(med "$mode" "$key" p99_ms)" "$(sum "$mode" "$key" errors)" "$(median <"$WORK/cpu-$mode-$key.txt")"
          "$(median <"$WORK/ratio-$mode-$key.txt")")
      done
      printf '%-6s %7s %10s | %9.0f %7.1f %7.1f %3s | %9.0f %7.1f %7.1f %3s %4.1f %5.2f | %9.0f %7.1f %7.1f %3s %4.1f %5.2f\n' \
        "${row[@]}"
    done
  done
done
echo "(ratio: rows/s committed through chfleet ingest over rows/s of the direct path, median of the rounds' ratios)"
printf 'peak RSS (VmHWM) of chfleet ingest serve: sync %s MiB, async %s MiB\n' "$(rss_mib "$INGEST_PID")" \
  "$(rss_mib "$ASYNC_PID")"

echo
echo "== fleet CPU seconds per million rows (all servers and keepers, plus the ingest servers; medians)"
printf '%-6s %7s %10s | %8s %8s %8s | %11s %12s\n' layout clients batch_rows direct sync async sync/direct \
  async/direct
for layout in $LAYOUTS; do
  for c in $CLIENTS; do
    for b in $BATCH_ROWS; do
      key="$layout-$c-$b"
      d=$(median <"$WORK/fleetcpu-direct-$key.txt")
      i=$(median <"$WORK/fleetcpu-ingest-$key.txt")
      a=$(median <"$WORK/fleetcpu-async-$key.txt")
      printf '%-6s %7s %10s | %8.1f %8.1f %8.1f | %11.2f %12.2f\n' "$layout" "$c" "$b" "$d" "$i" "$a" \
        "$(echo "$i / $d" | bc -l)" "$(echo "$a / $d" | bc -l)"
    done
  done
done

echo
echo "== every acknowledged row is in the fleet; no EU row on a US shard (counted after each run)"
# A failed batch may have been written in part (a Distributed INSERT is not atomic across shards), so rows
# stored can exceed rows acknowledged; fewer would be rows lost.
printf '%-7s %14s %14s %14s\n' mode acknowledged stored failed_batches
acknowledged_ingest=$((acknowledged[ingest] + acknowledged[async]))
failed_ingest=$((failed[ingest] + failed[async]))
printf '%-7s %14s %14s %14s\n' direct "${acknowledged[direct]}" "$stored_direct" "${failed[direct]}" \
  ingest "$acknowledged_ingest" "$stored_ingest" "$failed_ingest"
echo "(ingest: sync and async together; the client check's $client_check_rows rows are in neither count)"
echo "EU rows on US shards: $misplaced"
echo "total time: $(($(date +%s) - started)) s"
if [ $((failed[direct] + failed_ingest)) -gt 0 ]; then
  echo "WARNING: some batches failed (first errors above): the figures of those runs count only acknowledged rows" >&2
fi
if [ "$stored_direct" -lt "${acknowledged[direct]}" ] || [ "$stored_ingest" -lt "$acknowledged_ingest" ] ||
  [ "$misplaced" != 0 ]; then
  echo "ingest_bench: acknowledged rows are missing, or EU rows sit on US shards" >&2
  exit 1
fi
