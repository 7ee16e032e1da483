#!/usr/bin/env bash
# Figures for `chfleet erase run` on the teei sandbox holding ROWS events (default 10 million, 80% in the US
# region, 20% in the EU region, COMPANIES companies of equal size, plus the materialized views' rows and the
# mapping), copied to the DR site by `chfleet sync` so the erasure works on both sites. Printed, never
# asserted. ROUNDS times, in one sequence, each on a company of its own (same size, same US shard):
#  - seed: the seed's script: ALTER TABLE ... DELETE WHERE company_id = '...' for each table in turn on one node
#    (clickhouse-us-0), timed until that node's mutations are done. It reaches one shard of one site only and
#    proves nothing, so it is the floor of what a one-node script costs, not an erasure;
#  - chfleet: `chfleet erase run` (every table, every shard, both sites; waits on every replica; counts on every
#    replica; writes the receipt to the ledger);
#  - limit: the same rows deleted by each node that holds them with its own ALTER ... DELETE on every table,
#    timed per shard until done; the slowest shard's time is what no tool can beat.
# Prints each round, the medians and the median ratios chfleet/seed and chfleet/limit.
# Usage: bench/erase_bench.sh [BUILD/chfleet]
set -euo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
ROWS=${ROWS:-10000000}
COMPANIES=${COMPANIES:-200}
ROUNDS=${ROUNDS:-3}
DIR=$(mktemp -d /tmp/chfleet-erase-bench-XXXXXX)
export CHFLEET_ERASE_SALT=${CHFLEET_ERASE_SALT:-bench-salt-$RANDOM$RANDOM}
trap '"$CHFLEET" sandbox down --dir "$DIR/fleet" --purge >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
F=$DIR/fleet/fleet.yaml
q() { "$CHFLEET" query -f "$F" "$@"; }
now() { date +%s.%N; }
TABLES="events_local user_activity_local metrics_company_period_local sroi_calculations_local vis_scores_local
company_region_mapping_local query_log_local"

echo "== fleet up, schema, $ROWS events of $COMPANIES companies" >&2
"$CHFLEET" sandbox up -f examples/teei/fleet.yaml --dir "$DIR/fleet" --base-port 0 >/dev/null 2>&1
"$CHFLEET" schema apply -f "$F" >/dev/null
us_rows=$((ROWS * 8 / 10))
eu_rows=$((ROWS - us_rows))
# Company i: 'co-<i>'; US companies 0 .. COMPANIES*8/10-1, EU the rest. Rows over the last 30 days.
us_companies=$((COMPANIES * 8 / 10))
eu_companies=$((COMPANIES - us_companies))
insert_events() {  # node alias rows companies offset
  q "$1" -S insert_distributed_sync=1 "INSERT INTO teei.events_$2_distributed (event_id, company_id, user_id,
    event_type, region, timestamp) SELECT generateUUIDv4(), concat('co-', toString($5 + number % $4)),
    concat('u', toString(number % 1000)), concat('e', toString(number % 5)), '$2',
    now() - number % (30 * 86400) FROM system.numbers LIMIT $3"
}
insert_events clickhouse-us-0 us "$us_rows" "$us_companies" 0
insert_events clickhouse-eu-0 eu "$eu_rows" "$eu_companies" "$us_companies"
for alias in us eu; do
  node=clickhouse-$alias-0
  q "$node" -S insert_distributed_sync=1 "INSERT INTO teei.company_region_mapping_${alias}_distributed SELECT
    concat('co-', toString(number)), if(number < $us_companies, 'us-east-1', 'eu-central-1'), now()
    FROM system.numbers LIMIT $COMPANIES"
done
echo "== copy to the DR site (chfleet sync)" >&2
"$CHFLEET" sync run -f "$F" --once --active primary --state-file "$DIR/sync.json" >/dev/null 2>&1
total=$(q --all "SELECT sum(rows) FROM system.parts WHERE active AND database = 'teei'" | awk -F'\t' '{s += $6} END {print s}')
echo "rows stored in the fleet (every replica of both sites): $total" >&2

# US companies on the shard of clickhouse-us-0, whose rows the seed's node holds.
mapfile -t companies < <(q clickhouse-us-0 "SELECT company_id FROM teei.events_local GROUP BY company_id
  ORDER BY company_id LIMIT $((ROUNDS * 3))")
per_company=$(q clickhouse-us-0 "SELECT count() FROM teei.events_local WHERE company_id = '${companies[0]}'")
echo "each erased company: about $per_company events, on 1 of 3 US shards, and on the DR" >&2

wait_done() {  # node...: until no mutation is pending on any of them
  for node in "$@"; do
    until [ "$(q "$node" "SELECT count() FROM system.mutations WHERE NOT is_done")" = 0 ]; do sleep 0.1; done
  done
}
seed() {
  local start; start=$(now)
  for t in $TABLES; do q clickhouse-us-0 "ALTER TABLE teei.$t DELETE WHERE company_id = '$1'"; done
  q clickhouse-us-0 "ALTER TABLE teei.\`.inner.mv_daily_company_metrics_local\` DELETE WHERE company_id = '$1'"
  wait_done clickhouse-us-0
  echo "$(now) - $start" | bc
}
erase() {
  local start; start=$(now)
  echo "$1" | "$CHFLEET" erase run -f "$F" - --reason bench >/dev/null 2>&1
  echo "$(now) - $start" | bc
}
limit() {  # every shard holding rows of the company: its own deletes on its first replica, timed alone
  local slowest=0 node t start took
  for node in $(q --all "SELECT (SELECT count() FROM teei.events_local WHERE company_id = '$1') +
      (SELECT count() FROM teei.company_region_mapping_local WHERE company_id = '$1')" |
      awk -F'\t' '$5 == 1 && $6 > 0 {print $1}'); do
    start=$(now)
    for t in $TABLES; do q "$node" "ALTER TABLE teei.$t DELETE WHERE company_id = '$1'"; done
    q "$node" "ALTER TABLE teei.\`.inner.mv_daily_company_metrics_local\` DELETE WHERE company_id = '$1'"
    wait_done "$node"
    took=$(echo "$(now) - $start" | bc)
    slowest=$(echo "if ($took > $slowest) $took else $slowest" | bc)
  done
  echo "$slowest"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf '%-6s %10s %10s %10s\n' round seed_s chfleet_s limit_s
: >"$DIR/seed"; : >"$DIR/erase"; : >"$DIR/limit"
for round in $(seq 1 "$ROUNDS"); do
  i=$(((round - 1) * 3))
  s=$(seed "${companies[$i]}")
  e=$(erase "${companies[$((i + 1))]}")
  l=$(limit "${companies[$((i + 2))]}")
  echo "$s" >>"$DIR/seed"; echo "$e" >>"$DIR/erase"; echo "$l" >>"$DIR/limit"
  printf '%-6s %10.2f %10.2f %10.2f\n' "$round" "$s" "$e" "$l"
done
ms=$(median <"$DIR/seed"); me=$(median <"$DIR/erase"); ml=$(median <"$DIR/limit")
printf '%-6s %10.2f %10.2f %10.2f\n' median "$ms" "$me" "$ml"
printf 'chfleet/seed  %.2f  (the seed reaches 1 shard of 12 nodes and proves nothing)\n' "$(echo "$me / $ms" | bc -l)"
printf 'chfleet/limit %.2f\n' "$(echo "$me / $ml" | bc -l)"
"$CHFLEET" erase ledger -f "$F" --verify | tail -n 1
