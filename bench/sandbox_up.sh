#!/usr/bin/env bash
# Figures for `chfleet sandbox up`: wall time and total resident memory of examples/teei (12 servers + 2 keepers)
# against the baseline examples/pair (2 servers + 2 keepers), run alternately in the same sequence, RUNS times.
# Prints each run and the medians; the ratio teei/pair is the figure that survives a noisy machine.
# Targets (issue 2): teei up under 30 s, under 2.5 GiB.
set -euo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
RUNS=${RUNS:-3}
WORK=$(mktemp -d /tmp/chfleet-bench-XXXXXX)
trap 'for d in "$WORK"/*/; do "$CHFLEET" sandbox down --dir "$d" >/dev/null 2>&1 || true; done; rm -rf "$WORK"' EXIT

measure() {  # fleet file -> "seconds rss_mib"
  local fleet=$1 dir
  dir=$WORK/$(basename "$(dirname "$fleet")")-$RANDOM
  local start end
  start=$(date +%s.%N)
  "$CHFLEET" sandbox up -f "$fleet" --dir "$dir" --base-port 0 --log-level warn >/dev/null
  end=$(date +%s.%N)
  sleep 2  # let the servers finish their start-up allocations before reading RSS
  local rss
  rss=$("$CHFLEET" sandbox status --dir "$dir" --json | grep -o '"rss_bytes": [0-9]*' | awk '{s += $2} END {printf "%.0f", s / 1048576}')
  "$CHFLEET" sandbox down --dir "$dir" --purge --log-level warn >/dev/null
  echo "$(echo "$end - $start" | bc -l) $rss"
}

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

: >"$WORK/teei.txt"; : >"$WORK/pair.txt"; : >"$WORK/ratio.txt"
printf '%-4s %-10s %10s %10s\n' run fleet seconds rss_mib
for run in $(seq 1 "$RUNS"); do
  read -r pt pr < <(measure examples/pair/fleet.yaml)
  read -r tt tr < <(measure examples/teei/fleet.yaml)
  printf '%-4s %-10s %10.2f %10s\n' "$run" pair "$pt" "$pr" "$run" teei "$tt" "$tr"
  echo "$pt $pr" >>"$WORK/pair.txt"; echo "$tt $tr" >>"$WORK/teei.txt"
  echo "$(echo "$tt / $pt" | bc -l) $(echo "$tr / $pr" | bc -l)" >>"$WORK/ratio.txt"
done
echo
printf 'median pair: %.2f s, %s MiB\n' "$(cut -d' ' -f1 "$WORK/pair.txt" | median)" "$(cut -d' ' -f2 "$WORK/pair.txt" | median)"
printf 'median teei: %.2f s, %s MiB (targets: < 30 s, < 2560 MiB)\n' "$(cut -d' ' -f1 "$WORK/teei.txt" | median)" "$(cut -d' ' -f2 "$WORK/teei.txt" | median)"
printf 'median ratio teei/pair: time %.2f, rss %.2f\n' "$(cut -d' ' -f1 "$WORK/ratio.txt" | median)" "$(cut -d' ' -f2 "$WORK/ratio.txt" | median)"
