#!/usr/bin/env bash
# Figures for `chfleet retention` planning on a sandbox (examples/pair: telemetry.http_telemetry, partitioned
# by day, retention 30 days), printed, never asserted: the statements one `retention status` and one
# `retention run --dry-run` send to a node, counted by the server itself (system.events, event 'Query'),
# and their wall time, at P daily partitions per table (P in PARTITIONS, default "10 1000"; spread over at
# least 60 days, so that those older than 30 days are past the horizon).
set -euo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
PARTITIONS=${PARTITIONS-"10 1000"}
WORK=$(mktemp -d /tmp/chfleet-retention-bench-XXXXXX)
DIR=$WORK/sandbox
export CHFLEET_PASSWORD=${CHFLEET_PASSWORD:-bench}
trap '"$CHFLEET" sandbox down --dir "$DIR" --purge --log-level warn >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

"$CHFLEET" sandbox up -f examples/pair/fleet.yaml --dir "$DIR" --base-port 0 --log-level warn >/dev/null
FLEET=$DIR/fleet.yaml
"$CHFLEET" schema apply -f "$FLEET" --log-level warn >/dev/null
q() { "$CHFLEET" query -f "$FLEET" --log-level warn primary-ch-0 "$@"; }
now() { date +%s.%N; }
queries() { q "SELECT value FROM system.events WHERE event = 'Query'"; }
# Statements `$@` sent to primary-ch-0: the counter's rise, less the one query that reads it afterwards.
counted() {
  local before after start
  before=$(queries); start=$(now)
  "$@" >/dev/null || true
  ELAPSED=$(echo "$(now) - $start" | bc -l)
  after=$(queries)
  COUNT=$((after - before - 1))
}

counted true
echo "calibration: $COUNT statements for a command that sends none (expected 0)"
printf '%11s %9s %10s %9s %10s %12s\n' partitions status_q status_s dryrun_q dryrun_s to_drop
for P in $PARTITIONS; do
  q "TRUNCATE TABLE telemetry.http_telemetry_local" >/dev/null
  step=$(( P < 60 ? 60 / P : 1 ))  # days between partitions: at least 60 days covered, so some are past 30
  # 18.16 refuses more than 100 partitions in one INSERT block (max_partitions_per_insert_block).
  for start in $(seq 0 100 $((P - 1))); do
    n=$(( P - start < 100 ? P - start : 100 ))
    q "INSERT INTO telemetry.http_telemetry_local (timestamp, device) SELECT toDateTime(toUInt32(now()) - ($start + number) * $step * 86400 - 3600), 'bench' FROM system.numbers LIMIT $n" >/dev/null
  done
  parts=$(q "SELECT uniqExact(partition_id) FROM system.parts WHERE active AND database = 'telemetry'")
  counted "$CHFLEET" retention status -f "$FLEET" --site primary --state-file "$WORK/state.json" --log-level warn
  status_q=$COUNT; status_s=$ELAPSED
  counted "$CHFLEET" retention run --dry-run -f "$FLEET" --site primary --state-file "$WORK/state.json" --log-level warn
  dry_q=$COUNT; dry_s=$ELAPSED
  to_drop=$("$CHFLEET" retention run --dry-run --json -f "$FLEET" --site primary --state-file "$WORK/state.json" --log-level warn | grep -o '"expired": [0-9]*' | head -n 1 | awk '{print $2}')
  printf '%11s %9s %10.2f %9s %10.2f %12s\n' "$parts" "$status_q" "$status_s" "$dry_q" "$dry_s" "$to_drop"
done
