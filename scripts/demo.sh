#!/usr/bin/env bash
# The main job on one machine: bring examples/teei up as real processes (2 ZooKeepers, 12 ClickHouse servers),
# create the schema everywhere, write US and EU companies' events through their regional Distributed tables,
# show per node that EU rows are only on EU shards, copy everything to the DR site with chfleet sync, and check
# that the schema has no drift.
# KEEP=1 leaves the sandbox running (stop it with: chfleet sandbox down --dir $DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
DIR=${CHFLEET_DEMO_DIR:-.sandbox/teei-demo}
FLEET=$DIR/fleet.yaml

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "validate the fleet file"
"$CHFLEET" topology check -f examples/teei/fleet.yaml

step "bring the fleet up (free loopback ports)"
"$CHFLEET" sandbox down --dir "$DIR" --purge >/dev/null 2>&1 || true  # a fresh fleet, not last run's data
"$CHFLEET" sandbox up -f examples/teei/fleet.yaml --dir "$DIR" --base-port 0
if [ "${KEEP:-0}" != 1 ]; then
  trap '"$CHFLEET" sandbox down --dir "$DIR" --purge' EXIT
fi

step "create the schema on every node (dry run first, then for real, then again: nothing to do)"
"$CHFLEET" schema apply -f "$FLEET" --dry-run | tail -n 1
"$CHFLEET" schema apply -f "$FLEET"
"$CHFLEET" schema apply -f "$FLEET" | tail -n 1

step "write 3000 events of 30 US companies and 2000 of 20 EU companies through the regional tables"
"$CHFLEET" query -f "$FLEET" clickhouse-us-0 -S insert_distributed_sync=1 \
  "INSERT INTO teei.events_us_distributed (company_id, timestamp, event_type)
   SELECT concat('us-company-', toString(number % 30)), toDateTime('2026-11-01 00:00:00') + number * 60,
          ['page_view', 'donation', 'volunteer_hour'][number % 3 + 1]
   FROM system.numbers LIMIT 3000"
"$CHFLEET" query -f "$FLEET" clickhouse-eu-0 -S insert_distributed_sync=1 \
  "INSERT INTO teei.events_eu_distributed (company_id, timestamp, event_type)
   SELECT concat('eu-company-', toString(number % 20)), toDateTime('2026-11-01 00:00:00') + number * 60,
          ['page_view', 'donation', 'volunteer_hour'][number % 3 + 1]
   FROM system.numbers LIMIT 2000"

step "rows per node (primary site): EU companies only on EU shards, each shard's replicas equal"
"$CHFLEET" query -f "$FLEET" --all --site primary "SYSTEM SYNC REPLICA teei.events_local" >/dev/null
printf '%-18s %-8s %-14s %5s %7s %8s %8s\n' NODE SITE REGION SHARD REPLICA US_ROWS EU_ROWS
"$CHFLEET" query -f "$FLEET" --all --site primary \
  "SELECT countIf(company_id LIKE 'us-%'), countIf(company_id LIKE 'eu-%') FROM teei.events_local" |
  while IFS=$'\t' read -r node site region shard replica us eu; do
    printf '%-18s %-8s %-14s %5s %7s %8s %8s\n' "$node" "$site" "$region" "$shard" "$replica" "$us" "$eu"
  done
misplaced=$("$CHFLEET" query -f "$FLEET" --all --region us-east-1 --site primary \
  "SELECT count() FROM teei.events_local WHERE company_id LIKE 'eu-%'" | awk -F'\t' '{s += $6} END {print s + 0}')
echo "EU rows on US shards: $misplaced"
[ "$misplaced" = 0 ]

step "the global table is for reads: it answers for every region, and refuses inserts"
"$CHFLEET" query -f "$FLEET" clickhouse-us-0 \
  "SELECT substring(company_id, 1, 2) AS region, count() FROM teei.events_distributed GROUP BY region ORDER BY region"
if "$CHFLEET" query -f "$FLEET" clickhouse-us-0 \
     "INSERT INTO teei.events_distributed (company_id, timestamp, event_type) VALUES ('x', now(), 'y')" 2>/tmp/chfleet-demo-err; then
  echo "unexpected: the global table accepted an insert" >&2; exit 1
fi
echo "insert refused: $(grep -o 'Method write is not supported.*sharding key[^.]*' /tmp/chfleet-demo-err | head -n 1 || true)"

step "DR sync: the DR site (1 shard per region) has none of it yet; chfleet sync copies it server to server"
"$CHFLEET" sync check -f "$FLEET" --active primary --state-file "$DIR/sync-state.json" | tail -n 1 || true  # exit 3: differences
"$CHFLEET" sync run --once -f "$FLEET" --active primary --state-file "$DIR/sync-state.json" | grep -E 'repaired|clean' | tail -n 5
"$CHFLEET" sync check -f "$FLEET" --active primary --state-file "$DIR/sync-state.json" | tail -n 1
for region in us eu; do
  echo "$region events on the primary: $("$CHFLEET" query -f "$FLEET" clickhouse-$region-0 "SELECT count() FROM teei.events_${region}_distributed"), on the DR: $("$CHFLEET" query -f "$FLEET" dr-$region-0 "SELECT count() FROM teei.events_${region}_distributed")"
done
"$CHFLEET" sync status --state-file "$DIR/sync-state.json" | head -n 9

step "schema drift check across nodes, replicas and sites"
"$CHFLEET" schema diff -f "$FLEET"

step "done"
[ "${KEEP:-0}" = 1 ] && echo "the sandbox is still running: $CHFLEET sandbox status --dir $DIR" || true
