#!/usr/bin/env bash
# Figures for the exporter (issue 18): one scrape of examples/teei (12 servers, 2 sites): wall time and the
# statements it costs each node (counted by the servers themselves: system.events Query, before and after);
# then the same with one server stopped by SIGSTOP (it accepts TCP and never answers): the scrape must still
# answer within its per-node timeout plus a small margin, with that node at clickhouse_up 0.
# RUNS scrapes each (median and max printed). TIMEOUT_MS is the per-node deadline.
set -euo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
RUNS=${RUNS:-5}
TIMEOUT_MS=${TIMEOUT_MS:-3000}
WORK=$(mktemp -d /tmp/chfleet-bench-mon-XXXXXX)
FLEET=$WORK/fleet.yaml
STOPPED=""
trap '[ -n "$STOPPED" ] && kill -CONT "$STOPPED" 2>/dev/null; "$CHFLEET" sandbox down --dir "$WORK" --purge >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

"$CHFLEET" sandbox up -f examples/teei/fleet.yaml --dir "$WORK" --base-port 0 --log-level warn >/dev/null
"$CHFLEET" schema apply -f "$FLEET" --log-level warn >/dev/null


queries() {  # the Query counter of every node, one "node count" per line
  "$CHFLEET" query -f "$FLEET" --all "SELECT value FROM system.events WHERE event = 'Query'" | awk -F'\t' '{print $1, $6}' | sort
}

scrape() {  # seconds for one scrape; the metrics in $WORK/metrics.txt
  local start end
  start=$(date +%s.%N)
  "$CHFLEET" exporter scrape -f "$FLEET" --timeout-ms "$TIMEOUT_MS" --log-level warn >"$WORK/metrics.txt"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

scrape >/dev/null  # warm-up: the servers' first answers of system tables
queries >"$WORK/before.txt"
scrape >/dev/null
queries >"$WORK/after.txt"
# Each node's difference counts the scrape plus the second reading of the counter itself (one statement).
echo "statements per node for one scrape:"
join "$WORK/before.txt" "$WORK/after.txt" | awk '{printf "  %-16s %d\n", $1, $3 - $2 - 1}'

: >"$WORK/all.txt"
for _ in $(seq 1 "$RUNS"); do scrape >>"$WORK/all.txt"; done
up=$(grep -c '^clickhouse_up{.*} 1$' "$WORK/metrics.txt" || true)
printf 'all 12 up:          median %.3f s, max %.3f s (%s nodes with clickhouse_up 1)\n' \
  "$(median <"$WORK/all.txt")" "$(sort -g "$WORK/all.txt" | tail -n 1)" "$up"

STOPPED=$("$CHFLEET" sandbox status --dir "$WORK" --json | tr -d '\n ' | grep -o '"name":"clickhouse-us-1"[^}]*"pid":[0-9]*' | grep -o '"pid":[0-9]*' | cut -d: -f2)
kill -STOP "$STOPPED"
: >"$WORK/stopped.txt"
for _ in $(seq 1 "$RUNS"); do scrape >>"$WORK/stopped.txt"; done
down=$(grep '^clickhouse_up{node="clickhouse-us-1"' "$WORK/metrics.txt" | awk '{print $2}')
printf 'clickhouse-us-1 SIGSTOP: median %.3f s, max %.3f s (timeout %.1f s; its clickhouse_up %s, %s others 1)\n' \
  "$(median <"$WORK/stopped.txt")" "$(sort -g "$WORK/stopped.txt" | tail -n 1)" "$(echo "$TIMEOUT_MS / 1000" | bc -l)" \
  "$down" "$(grep -c '^clickhouse_up{.*} 1$' "$WORK/metrics.txt" || true)"
kill -CONT "$STOPPED"; STOPPED=""
