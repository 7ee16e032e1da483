#!/usr/bin/env bash
# Figures for `chfleet backup` on the teei sandbox (primary US 3x2 + EU 2x2), printed, never asserted. Both
# sides of each comparison run in the same sequence, against the same frozen data and the same destination
# (a local folder on the same disk):
#  1. create + store: `chfleet backup create` (freeze, SHA-256 of every file, content-addressed copy, manifests)
#     against FREEZE by hand + `tar | zstd -1` of each shard's shadow folder into the same folder;
#  2. an incremental backup of the unchanged fleet: bytes stored as a share of the full backup's;
#  3. restore of the events table: `chfleet backup restore --rm` (download, SHA-256 check, staging table,
#     ATTACH, count, REPLACE PARTITION, replicas fetch) against copying the frozen parts into detached/ and
#     ALTER TABLE ... ATTACH PARTITION by hand (replicas fetch too).
# ROWS rows of events per region (default 2000000).
set -euo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
ROWS=${ROWS:-2000000}
WORK=$(mktemp -d /tmp/chfleet-backup-bench-XXXXXX)
DIR=$WORK/sandbox
trap '"$CHFLEET" sandbox down --dir "$DIR" --purge --log-level warn >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

"$CHFLEET" sandbox up -f examples/teei/fleet.yaml --dir "$DIR" --base-port 0 --log-level warn >/dev/null
FLEET=$DIR/fleet.yaml
"$CHFLEET" schema apply -f "$FLEET" --log-level warn >/dev/null
q() { "$CHFLEET" query -f "$FLEET" --log-level warn "$@"; }
now() { date +%s.%N; }
json_field() { grep -o "\"$1\": [0-9.]*" | head -n 1 | awk '{print $2}'; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b / 1048576 / s}'; }

for region in us eu; do
  q -S insert_distributed_sync=1 "clickhouse-$region-0" "INSERT INTO teei.events_${region}_distributed
    (event_id, company_id, user_id, event_type, region, timestamp, payload)
    SELECT generateUUIDv4(), concat('$region-', toString(number % 997)), toString(number % 50000),
           ['click', 'view', 'buy'][number % 3 + 1], '$region', toDateTime('2026-06-01 00:00:00') + number * 7,
           concat('{\"n\":', toString(number), '}')
    FROM system.numbers LIMIT $ROWS" >/dev/null
done
q --all --site primary "OPTIMIZE TABLE teei.events_local FINAL" >/dev/null 2>&1 || true
NODES="clickhouse-us-0 clickhouse-us-2 clickhouse-us-4 clickhouse-eu-0 clickhouse-eu-2"
echo "== data: $ROWS events per region, $(q clickhouse-us-0 "SELECT count() FROM teei.events_distributed") in all"

echo "== 1. create + store, against FREEZE + tar | zstd -1 of the same shards"
t0=$(now)
"$CHFLEET" backup create -f "$FLEET" --repo "$WORK/repo" full --table events --json --log-level warn >"$WORK/full.json"
t1=$(now)
size=$(json_field size_bytes <"$WORK/full.json")
mkdir -p "$WORK/tar"
t2=$(now)
for node in $NODES; do
  q "$node" "ALTER TABLE teei.events_local FREEZE WITH NAME 'bench'" >/dev/null
  tar -C "$DIR/nodes/$node/data/shadow/bench" -cf - . | zstd -1 -q -o "$WORK/tar/$node.tar.zst"
  rm -rf "$DIR/nodes/$node/data/shadow/bench"
done
sync
t3=$(now)
chfleet_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
tar_s=$(awk -v a="$t2" -v b="$t3" 'BEGIN {print b - a}')
printf '%-28s %10s %12s %10s\n' method seconds MiB MiB/s
printf '%-28s %10.2f %12s %10s\n' "chfleet backup create" "$chfleet_s" "$(mib "$size")" "$(rate "$size" "$chfleet_s")"
printf '%-28s %10.2f %12s %10s   (compressed to %s MiB)\n' "FREEZE + tar | zstd -1" "$tar_s" "$(mib "$size")" \
  "$(rate "$size" "$tar_s")" "$(mib "$(du -sb "$WORK/tar" | cut -f1)")"
echo "ratio chfleet/tar throughput: $(awk -v a="$chfleet_s" -v b="$tar_s" 'BEGIN {printf "%.2f", b / a}')"

echo "== 2. incremental backup of the unchanged fleet"
"$CHFLEET" backup create -f "$FLEET" --repo "$WORK/repo" incremental --table events --json --log-level warn >"$WORK/inc.json"
inc=$(json_field uploaded_bytes <"$WORK/inc.json")
echo "stored $inc bytes of $(json_field size_bytes <"$WORK/inc.json") ($(awk -v a="$inc" -v b="$size" 'BEGIN {printf "%.2f", 100 * a / b}')% of the full backup)"

echo "== 3. restore of events, against copying the frozen parts into detached/ and ATTACH PARTITION by hand"
t0=$(now)
"$CHFLEET" backup restore -f "$FLEET" --repo "$WORK/repo" full --table events --rm --json --log-level warn >"$WORK/restore.json"
t1=$(now)
restored_rows=$(q clickhouse-us-0 "SELECT count() FROM teei.events_distributed")
for node in $NODES; do
  q "$node" "ALTER TABLE teei.events_local FREEZE WITH NAME 'manual'" >/dev/null
done
partitions=$(q clickhouse-us-0 "SELECT DISTINCT partition_id FROM system.parts WHERE database = 'teei' AND table = 'events_local' AND active")
for node in $NODES; do
  q "$node" "TRUNCATE TABLE teei.events_local" >/dev/null
done
t2=$(now)
for node in $NODES; do
  data=$DIR/nodes/$node/data
  cp -a "$data/shadow/manual/data/teei/events_local/." "$data/data/teei/events_local/detached/"
  for p in $(ls "$data/shadow/manual/data/teei/events_local" | cut -d_ -f1 | sort -u); do
    q "$node" "ALTER TABLE teei.events_local ATTACH PARTITION ID '$p'" >/dev/null
  done
  next=$(echo "$node" | awk -F- '{print $1 "-" $2 "-" $3 + 1}')
  q "$next" "SYSTEM SYNC REPLICA teei.events_local" >/dev/null
done
t3=$(now)
manual_rows=$(q clickhouse-us-0 "SELECT count() FROM teei.events_distributed")
restore_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
manual_s=$(awk -v a="$t2" -v b="$t3" 'BEGIN {print b - a}')
printf '%-28s %10s %12s %10s\n' method seconds MiB MiB/s
printf '%-28s %10.2f %12s %10s\n' "chfleet backup restore" "$restore_s" "$(mib "$size")" "$(rate "$size" "$restore_s")"
printf '%-28s %10.2f %12s %10s\n' "cp to detached + ATTACH" "$manual_s" "$(mib "$size")" "$(rate "$size" "$manual_s")"
echo "ratio chfleet/manual throughput: $(awk -v a="$restore_s" -v b="$manual_s" 'BEGIN {printf "%.2f", b / a}')"
echo "rows afterwards: chfleet $restored_rows, by hand $manual_rows ($(echo $partitions | wc -w) partitions per shard)"
