#!/usr/bin/env bash
# The main job on one machine: bring examples/teei up as real processes (2 ZooKeepers, 12 ClickHouse servers),
# create the schema everywhere, map companies to regions, write US and EU companies' events through
# chfleet ingest (a ClickHouse-compatible endpoint that routes each row to its company's region and shard),
# show per node that EU rows are only on EU shards and audit residency, copy everything to the DR site with
# chfleet sync, check that the schema has no drift, and erase one company from every replica of both sites.
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

step "map 30 US and 20 EU companies to their regions (every region holds the whole mapping)"
{
  for i in $(seq 0 29); do echo "us-company-$i,us-east-1"; done
  for i in $(seq 0 19); do echo "eu-company-$i,eu"; done
} >"$DIR/companies.csv"
"$CHFLEET" residency import -f "$FLEET" "$DIR/companies.csv"

step "start chfleet ingest (a ClickHouse-compatible write endpoint) and send 5000 mixed events with curl"
"$CHFLEET" ingest serve -f "$FLEET" --listen 127.0.0.1:0 >"$DIR/ingest.out" 2>"$DIR/ingest.log" &
INGEST_PID=$!
if [ "${KEEP:-0}" != 1 ]; then
  trap 'kill $INGEST_PID 2>/dev/null; wait $INGEST_PID 2>/dev/null; "$CHFLEET" sandbox down --dir "$DIR" --purge' EXIT
fi
for _ in $(seq 100); do grep -q 'listening on port' "$DIR/ingest.out" 2>/dev/null && break; sleep 0.1; done
INGEST_URL="http://127.0.0.1:$(awk '/listening on port/ {print $4}' "$DIR/ingest.out")"
echo "ingest at $INGEST_URL: $(curl -sS "$INGEST_URL/ping")"
# The example's ingest user (app / ingest-demo: an example-only password), sent in headers from a file so that
# it is not in curl's arguments.
printf 'X-ClickHouse-User: app\nX-ClickHouse-Key: ingest-demo\n' >"$DIR/ingest-headers"
awk 'BEGIN {
  split("page_view donation volunteer_hour", types, " ")
  for (n = 0; n < 5000; n++) {
    company = (n % 5 < 3) ? "us-company-" (n % 30) : "eu-company-" (n % 20)
    printf "{\"company_id\":\"%s\",\"user_id\":\"user-%d\",\"event_type\":\"%s\",\"timestamp\":%d}\n",
      company, n % 97, types[n % 3 + 1], 1793577600 + n * 60
  }
}' >"$DIR/events.ndjson"
curl -sS --fail-with-body -H @"$DIR/ingest-headers" --data-binary @"$DIR/events.ndjson" \
  "$INGEST_URL/?query=INSERT%20INTO%20teei.events%20FORMAT%20JSONEachRow" -D - -o /dev/null | grep -i '^X-ClickHouse-Summary'
echo "an unmapped company is refused, nothing of its request written:"
curl -sS -H @"$DIR/ingest-headers" --data-binary '{"company_id":"nobody-inc","timestamp":1793577600}' \
  "$INGEST_URL/?query=INSERT%20INTO%20teei.events%20FORMAT%20JSONEachRow" || true
echo "a SELECT through the same URL reads what was written by the same name: $(curl -sS -H @"$DIR/ingest-headers" \
  --data-binary 'SELECT count() FROM teei.events' "$INGEST_URL/")"
echo "one company's SELECT reads one replica of its shard: $(curl -sS -D - -o /dev/null -H @"$DIR/ingest-headers" \
  --data-binary "SELECT count() FROM teei.events WHERE company_id = 'eu-company-3'" "$INGEST_URL/" |
  grep -i '^X-Chfleet-Read' | tr -d '\r')"
curl -sS "$INGEST_URL/metrics" | grep '^chfleet_ingest_rows_total' | sort

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

step "residency audit: every shard of every region, every table: no row outside its company's region"
"$CHFLEET" residency audit -f "$FLEET" | tail -n 3
echo "plant one EU company's row on a US shard, behind ingest's back:"
"$CHFLEET" query -f "$FLEET" clickhouse-us-2 \
  "INSERT INTO teei.user_activity_local (company_id, user_id, timestamp) VALUES ('eu-company-3', 'planted', '2020-01-15 00:00:00')"
if "$CHFLEET" residency audit -f "$FLEET" >"$DIR/audit.txt"; then
  echo "unexpected: the audit missed the planted row" >&2; exit 1
fi
grep -i 'eu-company-3' "$DIR/audit.txt" | head -n 3
echo "audit exit code 1; removing the planted partition:"
"$CHFLEET" query -f "$FLEET" clickhouse-us-2 "ALTER TABLE teei.user_activity_local DROP PARTITION 202001"
"$CHFLEET" residency audit -f "$FLEET" | tail -n 1

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

step "retention: old rows in both regions; a dry run says which partitions would go (EU aggregates past 2 years, events past 90 days)"
for region in us eu; do
  "$CHFLEET" query -f "$FLEET" clickhouse-$region-0 --setting insert_distributed_sync=1 \
    "INSERT INTO teei.metrics_company_period_${region}_distributed (company_id, metric_name, created_at) SELECT concat('$region-company-', toString(number % 5)), concat('demo-', toString(number)), now() - INTERVAL 3 YEAR FROM system.numbers LIMIT 20"
done
"$CHFLEET" retention run -f "$FLEET" --dry-run --site primary | grep -E 'site|metrics_company_period|events|dry run'
"$CHFLEET" retention status -f "$FLEET" --site primary | grep -E 'site|metrics_company_period' || true

step "deploying to real hosts: every node's config rendered; a render says per node whether it is new, reloads live or needs a restart"
"$CHFLEET" config render -f "$FLEET" -o "$DIR/rendered" | tail -n 1 | cut -c1-160
"$CHFLEET" -f "$FLEET" config render -o "$DIR/rendered" | tail -n 1 | cut -c1-160   # global -f, same files: unchanged

step "erase one company from every replica of both sites; the receipt; 0 rows everywhere; the ledger's chain"
# The fleet's secret salt: the ledger names the company by SHA-256(salt + ID), never by its ID.
export CHFLEET_ERASE_SALT=${CHFLEET_ERASE_SALT:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
ERASED=us-company-7
company_rows="SELECT (SELECT count() FROM teei.events_local WHERE company_id = '$ERASED')
  + (SELECT count() FROM teei.company_region_mapping_local WHERE company_id = '$ERASED')
  + (SELECT count() FROM teei.\`.inner.mv_daily_company_metrics_local\` WHERE company_id = '$ERASED')"
echo "rows of $ERASED before (events, mapping, daily metrics view) on each node holding some:"
"$CHFLEET" query -f "$FLEET" --all "$company_rows" | awk -F'\t' '$6 > 0 {printf "  %-18s %-8s %s\n", $1, $2, $6}'
echo "$ERASED" | "$CHFLEET" erase run -f "$FLEET" - --reason "demo: GDPR Art. 17 request" --dry-run | tail -n 2
echo "$ERASED" | "$CHFLEET" erase run -f "$FLEET" - --reason "demo: GDPR Art. 17 request" --json >"$DIR/receipt.json"
cat "$DIR/receipt.json"
echo "rows of $ERASED after, counted on every node directly:"
"$CHFLEET" query -f "$FLEET" --all "$company_rows" | awk -F'\t' '{printf "  %-18s %-8s %s\n", $1, $2, $6; s += $6}
  END {print "  total: " s; exit s != 0}'
echo "$ERASED" | "$CHFLEET" erase verify -f "$FLEET" - | tail -n 1
"$CHFLEET" erase ledger -f "$FLEET" --verify | tail -n 1

step "backup: every shard of the primary into a folder repository, drop a table, restore it, counts equal"
BACKUP_REPO="$DIR/backups"
counts() { "$CHFLEET" query -f "$FLEET" --all --site primary "SELECT count() FROM teei.events_local"; }
counts >"$DIR/before-backup.txt"
"$CHFLEET" backup create -f "$FLEET" --repo "$BACKUP_REPO" demo-1
"$CHFLEET" backup list -f "$FLEET" --repo "$BACKUP_REPO"
"$CHFLEET" query -f "$FLEET" --all --site primary "DROP TABLE teei.events_local" >/dev/null
echo "events dropped on every primary node; restoring it:"
"$CHFLEET" backup restore -f "$FLEET" --repo "$BACKUP_REPO" demo-1 --table events | tail -n 1
counts >"$DIR/after-restore.txt"
if ! diff "$DIR/before-backup.txt" "$DIR/after-restore.txt"; then
  echo "unexpected: the restored counts differ" >&2; exit 1
fi
echo "counts per node equal the originals: $(awk '{s += $NF} END {print s}' "$DIR/after-restore.txt") rows"

step "monitoring: the health report, one scrape of the exporter, the rendered rules checked by promtool"
health=0; "$CHFLEET" health -f "$FLEET" || health=$?
echo "health exit code $health (0 nothing wrong, 1 a warning, 11 a critical finding)"
"$CHFLEET" exporter scrape -f "$FLEET" | grep -E '^clickhouse_(up|replica_absolute_delay|disk_used_bytes)\{' | awk 'NR <= 6'
"$CHFLEET" monitoring render -f "$FLEET" -o "$DIR/monitoring"
promtool check rules "$DIR/monitoring/chfleet-rules.yml"
(cd "$DIR/monitoring" && promtool test rules chfleet-rules.test.yml)

step "done"
[ "${KEEP:-0}" = 1 ] && echo "the sandbox is still running: $CHFLEET sandbox status --dir $DIR" || true
