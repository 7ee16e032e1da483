#!/usr/bin/env bash
# Figures for reads through `chfleet ingest serve`, printed, never asserted: the latency of the seed's
# single-company SELECT (seeds/000, "GOOD: Single-Company Query": event types and counts of one company over a
# period) sent to the ingest URL by its logical name (run on one replica of the company's shard, on its
# region's local table) against the same SELECT on the site's global Distributed table (events_distributed,
# every shard), on the teei sandbox with data in every shard. Both paths are asked in turn, query by query, over
# one kept-alive HTTP connection each, so the machine's drift hits both alike; each answer pair is compared (they
# must be equal). A third path, the same rows asked with `company_id IN ('c')` through ingest, goes ingest's general
# way (a node of the site, the global table): ingest's own cost on a read. Prints p50/p90/p99 and the mean per
# path, and the ratio of the single-company path to the global table. About 3 minutes on 2 cores.
# Usage: bench/ingest_read_bench.sh [BUILD/chfleet]   (COMPANIES, ROWS, QUERIES in the environment)
set -eEuo pipefail
cd "$(dirname "$0")/.."
CHFLEET=${1:-build/chfleet}
COMPANIES=${COMPANIES:-200}
ROWS=${ROWS:-200000}
QUERIES=${QUERIES:-400}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/chfleet-read-bench-XXXXXX")
DIR=$WORK/sandbox
FLEET=$DIR/fleet.yaml
INGEST_PID=""
cleanup() {
  if [ -n "$INGEST_PID" ] && kill -0 "$INGEST_PID" 2>/dev/null; then
    kill -TERM "$INGEST_PID" 2>/dev/null || true
    wait "$INGEST_PID" 2>/dev/null || true
  fi
  "$CHFLEET" sandbox down --dir "$DIR" --purge --log-level warn >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "ingest_read_bench: line $LINENO failed (status $?): $BASH_COMMAND" >&2' ERR

echo "== teei sandbox up in $WORK, schema, $COMPANIES companies (60% US, 40% EU)" >&2
"$CHFLEET" sandbox up -f examples/teei/fleet.yaml --dir "$DIR" --base-port 0 --log-level warn >/dev/null
"$CHFLEET" schema apply -f "$FLEET" --log-level warn >/dev/null
CHFLEET_PASSWORD=$(cat "$DIR/secrets/password")
export CHFLEET_PASSWORD INGEST_PASSWORD=ingest-demo  # the examples' published ingest password (sandbox only)
us_count=$((COMPANIES * 6 / 10))
for i in $(seq 1 "$COMPANIES"); do
  if [ "$i" -le "$us_count" ]; then printf 'read-us-%04d,us-east-1\n' "$i"; else printf 'read-eu-%04d,eu-central-1\n' "$i"; fi
done >"$WORK/companies.csv"
"$CHFLEET" residency import -f "$FLEET" --log-level warn "$WORK/companies.csv" >/dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$CHFLEET" ingest serve -f "$FLEET" --listen "127.0.0.1:$port" --site primary --log-level warn >"$WORK/ingest.log" 2>&1 &
INGEST_PID=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/ping" >/dev/null 2>&1 && break
  sleep 0.1
done
node_port=$(grep "name: clickhouse-us-0," "$FLEET" | grep -o 'http_port: [0-9]*' | awk '{print $2}')
NODE_PORTS=$(grep "name: clickhouse-" "$FLEET" | grep -o 'http_port: [0-9]*' | awk '{print $2}' | tr '\n' ' ')
export NODE_PORTS

python3 - "$port" "$node_port" "$WORK/companies.csv" "$ROWS" "$QUERIES" <<'PY'
import base64, http.client, json, os, random, statistics, sys, time

ingest_port, node_port, companies_csv, rows, queries = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
companies = [line.split(",")[0] for line in open(companies_csv)]
random.seed(7)
ingest = http.client.HTTPConnection("127.0.0.1", int(ingest_port), timeout=120)
node = http.client.HTTPConnection("127.0.0.1", int(node_port), timeout=120)
ingest_auth = {"Authorization": "Basic " + base64.b64encode(("app:" + os.environ["INGEST_PASSWORD"]).encode()).decode()}
node_auth = {"X-ClickHouse-User": "chfleet", "X-ClickHouse-Key": os.environ["CHFLEET_PASSWORD"]}

def post(connection, headers, path, body):
    connection.request("POST", path, body=body, headers=headers)
    answer = connection.getresponse()
    data = answer.read()
    if answer.status != 200:
        raise SystemExit(f"HTTP {answer.status}: {data[:300]!r}")
    return data, answer.getheader("X-Chfleet-Read", "")

print(f"== writing {rows} events of {len(companies)} companies through ingest", file=sys.stderr)
types = ["page_view", "donation", "volunteer_hour", "login", "report"]
batch = []
for n in range(rows):
    batch.append(json.dumps({
        "event_id": f"00000000-0000-4000-8000-{n:012d}", "company_id": random.choice(companies),
        "user_id": f"u{n % 5000}", "event_type": random.choice(types), "region": "x",
        "timestamp": f"2025-01-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:00",
        "payload": json.dumps({"duration": n % 600})}))
    if len(batch) == 20000 or n == rows - 1:
        post(ingest, ingest_auth, "/?query=INSERT%20INTO%20teei.events%20FORMAT%20JSONEachRow", "\n".join(batch) + "\n")
        batch = []
for other in os.environ["NODE_PORTS"].split():  # every replica holds every part before the clock starts
    post(http.client.HTTPConnection("127.0.0.1", int(other), timeout=300), node_auth, "/",
         "SYSTEM SYNC REPLICA teei.events_local")

# The seed's recommended single-company read, word for word but for the table name, the database and
# two things 18.16 lacks: JSONExtractFloat (visitParamExtractFloat reads the same flat JSON) and a Date
# literal compared with a DateTime (written as DateTime literals).
SQL = ("SELECT event_type, count() AS event_count, avg(visitParamExtractFloat(payload, 'duration')) AS avg_duration "
       "FROM teei.{table} WHERE company_id = '{company}' AND timestamp BETWEEN '2025-01-01 00:00:00' AND '2025-01-31 00:00:00' "
       "GROUP BY event_type ORDER BY event_count DESC, event_type FORMAT TSV")
# The third path is ingest's general way for the same rows: `company_id IN ('c')` pins nothing, so it is
# forwarded to a node of the site and reads the global table (ingest's own cost on a read).
latency = {"ingest": [], "global": [], "general": []}
paths = {"ingest": set(), "general": set()}
for q in range(queries):
    company = random.choice(companies)
    order = [["ingest", "global", "general"], ["global", "general", "ingest"], ["general", "ingest", "global"]][q % 3]
    answers = {}
    for path in order:
        started = time.perf_counter()
        if path == "global":
            answers[path], _ = post(node, node_auth, "/", SQL.format(table="events_distributed", company=company))
        else:
            sql = SQL.format(table="events", company=company)
            if path == "general":
                sql = sql.replace(f"company_id = '{company}'", f"company_id IN ('{company}')")
            answers[path], how = post(ingest, ingest_auth, "/", sql)
            paths[path].add(how.split(" ")[0])
        latency[path].append((time.perf_counter() - started) * 1000)
    if not answers["ingest"] == answers["global"] == answers["general"]:
        raise SystemExit(f"different answers for {company}:\n{answers!r}")

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

print(f"single-company SELECT (seed's query), {queries} queries per path, {rows} rows, answers equal: yes; "
      f"ingest read paths: {sorted(paths['ingest'])} / {sorted(paths['general'])}")
print(f"{'path':<52} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
names = {"ingest": "ingest URL, teei.events (one replica of one shard)",
         "global": "node, teei.events_distributed (5 shards)",
         "general": "ingest URL, IN ('c'): general way (5 shards)"}
for path in ("ingest", "global", "general"):
    values = latency[path]
    print(f"{names[path]:<52} {pct(values, 50):8.2f} {pct(values, 90):8.2f} {pct(values, 99):8.2f} {statistics.mean(values):8.2f}")
print(f"ratio ingest/global: p50 {pct(latency['ingest'], 50) / pct(latency['global'], 50):.2f}, "
      f"mean {statistics.mean(latency['ingest']) / statistics.mean(latency['global']):.2f}")
PY
