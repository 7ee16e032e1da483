#!/usr/bin/env bash
# Figures for `chfleet sync` on a two-site sandbox (examples/pair), printed, never asserted:
#  1. a clean check for T tables x P daily partitions x R rows (T in TABLES, default "50 200 1000"; P=30):
#     wall time and statements sent per site, for the first cycle (content checksums of every partition) and
#     the next one (parts unchanged since verified: inventory only);
#  2. repair of K missing partitions x ROWS rows: rows/s of `chfleet sync run --once` against a hand-written
#     `INSERT INTO ... SELECT * FROM remote(...) WHERE _partition_id = ...` per partition (CH-Sync's way), run
#     alternately RUNS times in the same sequence; the ratio chfleet/hand-written is the figure (target >= 0.9).
set -euo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
TABLES=${TABLES-"50 200 1000"}
P=${P:-30}
R=${R:-10}
K=${K:-20}
ROWS=${ROWS:-50000}
RUNS=${RUNS:-3}
WORK=$(mktemp -d /tmp/chfleet-sync-bench-XXXXXX)
DIR=$WORK/sandbox
trap '"$CHFLEET" sandbox down --dir "$DIR" --purge --log-level warn >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

"$CHFLEET" sandbox up -f examples/pair/fleet.yaml --dir "$DIR" --base-port 0 --log-level warn >/dev/null
FLEET=$DIR/fleet.yaml
q() { "$CHFLEET" query -f "$FLEET" --log-level warn "$@"; }
now() { date +%s.%N; }
json_field() { grep -o "\"$1\": [0-9]*" | head -n 1 | awk '{print $2}'; }
sync_once() { "$CHFLEET" sync run --once --active primary -f "$FLEET" --state-file "$WORK/state.json" --json --log-level warn "$@"; }

echo "== clean check: T tables x $P daily partitions x $R rows, both sites equal"
printf '%6s %12s %14s %14s %12s %14s %14s\n' tables first_s first_q_prim first_q_dr next_s next_q_prim next_q_dr
for T in $TABLES; do
  for node in primary-ch-0 dr-ch-0; do
    q "$node" "DROP DATABASE IF EXISTS bench" >/dev/null
    q "$node" "CREATE DATABASE bench" >/dev/null
    for t in $(seq 1 "$T"); do
      q "$node" "CREATE TABLE bench.t$t (d Date, k UInt64, v String) ENGINE = MergeTree PARTITION BY d ORDER BY k" >/dev/null
      q "$node" "INSERT INTO bench.t$t SELECT today() - number % $P, number, toString(number * $t) FROM system.numbers LIMIT $((P * R))" >/dev/null
    done
  done
  rm -f "$WORK/state.json"
  start=$(now); first=$(sync_once); first_s=$(echo "$(now) - $start" | bc -l)
  start=$(now); next=$(sync_once); next_s=$(echo "$(now) - $start" | bc -l)
  printf '%6s %12.2f %14s %14s %12.2f %14s %14s\n' "$T" "$first_s" \
    "$(echo "$first" | json_field primary)" "$(echo "$first" | json_field dr)" "$next_s" \
    "$(echo "$next" | json_field primary)" "$(echo "$next" | json_field dr)"
done
for node in primary-ch-0 dr-ch-0; do q "$node" "DROP DATABASE IF EXISTS bench" >/dev/null; done

echo
echo "== repair of $K missing partitions x $ROWS rows: chfleet sync vs hand-written INSERT ... SELECT ... remote()"
PRIMARY_TCP=$(grep -A0 'name: primary-ch-0' "$FLEET" | grep -o 'tcp_port: [0-9]*' | awk '{print $2}')
for node in primary-ch-0 dr-ch-0; do
  q "$node" "DROP DATABASE IF EXISTS repair" >/dev/null
  q "$node" "CREATE DATABASE repair" >/dev/null
  q "$node" "CREATE TABLE repair.t (d Date, k UInt64, device String, latency UInt32, payload String) ENGINE = MergeTree PARTITION BY d ORDER BY (k)" >/dev/null
done
q primary-ch-0 "INSERT INTO repair.t SELECT today() - number % $K, number, concat('dev-', toString(number % 97)), number % 1000, toString(cityHash64(number)) FROM system.numbers LIMIT $((K * ROWS))" >/dev/null
ids=$(q primary-ch-0 "SELECT DISTINCT partition_id FROM system.parts WHERE database = 'repair' AND table = 't' AND active ORDER BY partition_id")
total=$((K * ROWS))
printf '%4s %14s %14s %8s\n' run chfleet_rows_s hand_rows_s ratio
: >"$WORK/ratios"
for run in $(seq 1 "$RUNS"); do
  q dr-ch-0 "TRUNCATE TABLE repair.t" >/dev/null
  rm -f "$WORK/state.json"
  start=$(now); sync_once >/dev/null; chfleet_s=$(echo "$(now) - $start" | bc -l)
  [ "$(q dr-ch-0 "SELECT count() FROM repair.t")" = "$total" ] || { echo "chfleet copied a wrong row count" >&2; exit 1; }
  q dr-ch-0 "TRUNCATE TABLE repair.t" >/dev/null
  start=$(now)
  for id in $ids; do
    q dr-ch-0 "INSERT INTO repair.t SELECT * FROM remote('127.0.0.1:$PRIMARY_TCP', repair.t, 'default', '') WHERE _partition_id = '$id'" >/dev/null
  done
  hand_s=$(echo "$(now) - $start" | bc -l)
  chfleet_rate=$(echo "$total / $chfleet_s" | bc -l); hand_rate=$(echo "$total / $hand_s" | bc -l)
  ratio=$(echo "$chfleet_rate / $hand_rate" | bc -l); echo "$ratio" >>"$WORK/ratios"
  printf '%4s %14.0f %14.0f %8.2f\n' "$run" "$chfleet_rate" "$hand_rate" "$ratio"
done
printf 'median ratio chfleet/hand-written: %.2f (target >= 0.9)\n' "$(sort -g "$WORK/ratios" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')"
