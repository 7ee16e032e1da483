#!/usr/bin/env bash
# Figures for `chfleet sync` on a two-site sandbox (examples/pair), printed, never asserted:
#  1. clean cycles for T tables x P daily partitions x R rows (T in TABLES, default "50 200 1000"; P=30), both
#     sites equal, each figure the median of REPEAT runs, beside the floor measured in the same run:
#     - floor: the grouped system.parts read the inventory sends, on each site by itself (curl), and on both
#       sites at once (what a cycle waits for at the least);
#     - stateless: `chfleet sync check` without a state file (every partition's content checksum), wall time
#       and statements per site;
#     - steady: `chfleet sync run --once` with the state file of the previous run (parts unchanged since
#       verified: inventory only), wall time (process start, state file read and written included);
#     - daemon: a `chfleet sync run --daemon --interval 1`'s own steady cycles ("cycle finished in N ms":
#       inventory, comparison and the state file written; the state read once at start), median of REPEAT;
#  2. repair of K missing partitions x ROWS rows: rows/s of `chfleet sync run --once` (no state file: it
#     compares every partition, then copies and verifies) against a hand-written
#     `INSERT INTO ... SELECT * FROM remote(...) WHERE _partition_id = ...` per partition (CH-Sync's way), run
#     alternately RUNS times in the same sequence; the ratio chfleet/hand-written is the figure (target >= 0.9).
# Usage: bench/sync_bench.sh [path/to/chfleet]; TABLES="50 200" K=10 ROWS=300000 RUNS=3 REPEAT=3 to change.
set -euo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
TABLES=${TABLES-"50 200 1000"}
P=${P:-30}
R=${R:-10}
K=${K:-10}
ROWS=${ROWS:-300000}
RUNS=${RUNS:-3}
REPEAT=${REPEAT:-3}
WORK=$(mktemp -d /tmp/chfleet-sync-bench-XXXXXX)
DIR=$WORK/sandbox
trap '"$CHFLEET" sandbox down --dir "$DIR" --purge --log-level warn >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

"$CHFLEET" sandbox up -f examples/pair/fleet.yaml --dir "$DIR" --base-port 0 --log-level warn >/dev/null
FLEET=$DIR/fleet.yaml
port_of() { grep "name: $1," "$FLEET" | grep -o "$2: [0-9]*" | awk '{print $2}'; }
PRIMARY_HTTP=$(port_of primary-ch-0 http_port)
DR_HTTP=$(port_of dr-ch-0 http_port)
PRIMARY_TCP=$(port_of primary-ch-0 tcp_port)
# The sandbox's account, in a header file (never in a process's arguments).
HEADERS=$WORK/headers
(umask 077 && printf 'X-ClickHouse-User: %s\nX-ClickHouse-Key: %s\n' \
  "$(grep -A1 '^credentials:' "$FLEET" | grep -o 'user: .*' | awk '{print $2}')" \
  "$(cat "$DIR/secrets/password")" >"$HEADERS")
ch() { curl -sS --fail-with-body -H "@$HEADERS" "http://127.0.0.1:$1/" --data-binary "$2"; }
export -f ch
export HEADERS
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
json_field() { grep -o "\"$1\": [0-9]*" | head -n 1 | awk '{print $2}'; }
PARTS_READ="SELECT database, table, partition_id, any(partition) AS partition, sum(rows) AS rows, \
sum(cityHash64(name)) AS fingerprint, toUInt64(max(modification_time)) AS modified, \
greatest(toUInt64(max(max_time)), toUInt64(toDateTime(max(max_date)))) AS max_time FROM system.parts \
WHERE active AND database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') \
GROUP BY database, table, partition_id FORMAT TabSeparatedWithNamesAndTypes"
floor_one() { local s; s=$(now); ch "$1" "$PARTS_READ" >/dev/null; elapsed "$s"; }
floor_both() {
  local s; s=$(now)
  ch "$PRIMARY_HTTP" "$PARTS_READ" >/dev/null & ch "$DR_HTTP" "$PARTS_READ" >/dev/null & wait
  elapsed "$s"
}
sync_cmd() { "$CHFLEET" sync "$@" --active primary -f "$FLEET" --json --log-level warn; }

echo "== clean cycles: T tables x $P daily partitions x $R rows, both sites equal; medians of $REPEAT runs (s)"
printf '%6s %10s %10s %10s %12s %8s %10s %10s %10s %10s %10s\n' tables floor_prim floor_dr floor_both stateless \
  q_site steady steady/fl x_stateless daemon daemon/fl
for port in "$PRIMARY_HTTP" "$DR_HTTP"; do ch "$port" "CREATE DATABASE bench" >/dev/null; done
made=0
for T in $TABLES; do
  if [ "$T" -gt "$made" ]; then
    for port in "$PRIMARY_HTTP" "$DR_HTTP"; do
      seq $((made + 1)) "$T" | xargs -P 4 -I{} bash -c "
        ch $port 'CREATE TABLE bench.t{} (d Date, k UInt64, v String) ENGINE = MergeTree PARTITION BY d ORDER BY k' &&
        ch $port 'INSERT INTO bench.t{} SELECT today() - number % $P, number, toString(number * {}) FROM system.numbers LIMIT $((P * R))'" >/dev/null
    done
    made=$T
  fi
  : >"$WORK/fp"; : >"$WORK/fd"; : >"$WORK/fb"; : >"$WORK/sl"; : >"$WORK/st"
  queries=
  for _ in $(seq 1 "$REPEAT"); do
    floor_one "$PRIMARY_HTTP" >>"$WORK/fp"
    floor_one "$DR_HTTP" >>"$WORK/fd"
    floor_both >>"$WORK/fb"
    rm -f "$WORK/state.json"
    s=$(now); out=$(sync_cmd check --state-file "$WORK/state.json"); elapsed "$s" >>"$WORK/sl"
    queries=$(echo "$out" | json_field primary)
  done
  sync_cmd run --once --state-file "$WORK/state.json" >/dev/null  # verifies every partition once
  for _ in $(seq 1 "$REPEAT"); do
    s=$(now); sync_cmd run --once --state-file "$WORK/state.json" >/dev/null; elapsed "$s" >>"$WORK/st"
  done
  # The daemon's steady cycles, as it times them itself; its first cycle (state file read) is left out.
  "$CHFLEET" sync run --daemon --interval 1 --active primary -f "$FLEET" --state-file "$WORK/state.json" \
    >"$WORK/daemon.log" 2>&1 &
  daemon=$!
  until [ "$(grep -c 'cycle finished in' "$WORK/daemon.log")" -gt "$REPEAT" ]; do
    kill -0 "$daemon" 2>/dev/null || { cat "$WORK/daemon.log" >&2; exit 1; }
    sleep 0.2
  done
  kill -TERM "$daemon"; wait "$daemon" || true
  grep -o 'cycle finished in [0-9]* ms' "$WORK/daemon.log" | awk 'NR > 1 {print $4 / 1000}' >"$WORK/dm"
  fb=$(median <"$WORK/fb"); st=$(median <"$WORK/st"); sl=$(median <"$WORK/sl"); dm=$(median <"$WORK/dm")
  printf '%6s %10.3f %10.3f %10.3f %12.3f %8s %10.3f %10.2f %10.1f %10.3f %10.2f\n' "$T" "$(median <"$WORK/fp")" \
    "$(median <"$WORK/fd")" "$fb" "$sl" "$queries" "$st" "$(echo "$st / $fb" | bc -l)" \
    "$(echo "$sl / $st" | bc -l)" "$dm" "$(echo "$dm / $fb" | bc -l)"
done
# The bench tables stay: 18.16 takes minutes to drop a thousand of them, and the sandbox is purged at the end.
echo "(steady/fl, daemon/fl: over the floor of both sites at once; q_site: statements per site, stateless)"

echo
echo "== repair of $K missing partitions x $ROWS rows: chfleet sync vs hand-written INSERT ... SELECT ... remote()"
for port in "$PRIMARY_HTTP" "$DR_HTTP"; do
  ch "$port" "DROP DATABASE IF EXISTS repair" >/dev/null
  ch "$port" "CREATE DATABASE repair" >/dev/null
  ch "$port" "CREATE TABLE repair.t (d Date, k UInt64, device String, latency UInt32, payload String) ENGINE = MergeTree PARTITION BY d ORDER BY (k)" >/dev/null
done
ch "$PRIMARY_HTTP" "INSERT INTO repair.t SELECT today() - number % $K, number, concat('dev-', toString(number % 97)), number % 1000, toString(cityHash64(number)) FROM system.numbers LIMIT $((K * ROWS))" >/dev/null
ids=$(ch "$PRIMARY_HTTP" "SELECT DISTINCT partition_id FROM system.parts WHERE database = 'repair' AND table = 't' AND active ORDER BY partition_id")
total=$((K * ROWS))
printf '%4s %14s %14s %8s\n' run chfleet_rows_s hand_rows_s ratio
: >"$WORK/ratios"
for run in $(seq 1 "$RUNS"); do
  ch "$DR_HTTP" "TRUNCATE TABLE repair.t" >/dev/null
  rm -f "$WORK/state.json"
  # The clean-cycle tables are left out: this times the comparison and repair of repair.t alone.
  s=$(now)
  CH_EXCLUDE_PATTERNS="system.*,INFORMATION_SCHEMA.*,information_schema.*,_*,bench.*" \
    sync_cmd run --once --state-file "$WORK/state.json" >/dev/null
  chfleet_s=$(elapsed "$s")
  [ "$(ch "$DR_HTTP" "SELECT count() FROM repair.t")" = "$total" ] || { echo "chfleet copied a wrong row count" >&2; exit 1; }
  ch "$DR_HTTP" "TRUNCATE TABLE repair.t" >/dev/null
  s=$(now)
  for id in $ids; do
    "$CHFLEET" query -f "$FLEET" --log-level warn dr-ch-0 "INSERT INTO repair.t SELECT * FROM remote('127.0.0.1:$PRIMARY_TCP', repair.t, 'default', '') WHERE _partition_id = '$id'" >/dev/null
  done
  hand_s=$(elapsed "$s")
  chfleet_rate=$(echo "$total / $chfleet_s" | bc -l); hand_rate=$(echo "$total / $hand_s" | bc -l)
  ratio=$(echo "$chfleet_rate / $hand_rate" | bc -l); echo "$ratio" >>"$WORK/ratios"
  printf '%4s %14.0f %14.0f %8.2f\n' "$run" "$chfleet_rate" "$hand_rate" "$ratio"
done
printf 'median ratio chfleet/hand-written: %.2f (target >= 0.9)\n' "$(median <"$WORK/ratios")"
