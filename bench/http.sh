#!/usr/bin/env bash
# Task completions over HTTP with wrk (Debian package), against `motcua serve` on loopback.
# Usage: bash bench/http.sh [sqlite|postgres://server/db-admin-url]   (DURATION=10s, CONNECTIONS=32)
# Starts a server on a fresh database, deploys a one-user-task process, starts instances with
# wrk, lists their task ids, then has wrk complete them (each completion ends an instance) and
# prints wrk's requests/s and latency percentiles. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DB="${1:-sqlite}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
cargo build --release -q --bin motcua
WORK="$(mktemp -d)"
if [ "$DB" = "sqlite" ]; then
    URL="sqlite://$WORK/http.db"
else
    NAME="motcua_http_$$"
    psql "$DB" -qc "CREATE DATABASE $NAME" >/dev/null
    URL="${DB%/*}/$NAME"
fi
target/release/motcua --database "$URL" serve --listen 127.0.0.1:0 --no-worker \
    > "$WORK/out" 2> "$WORK/err" &
PID=$!
cleanup() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    [ "$DB" = "sqlite" ] || psql "$DB" -qc "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" >/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q '^listening on ' "$WORK/out" && break; sleep 0.1; done
BASE="$(sed -n 's/^listening on //p' "$WORK/out")"
python3 - "$BASE" <<'PY'
import json, sys, urllib.request
xml = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:bench"
  xmlns:motcua="urn:motcua:bpmn:1.0">
  <bpmn:process id="http-bench" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:userTask id="t" motcua:candidateGroups="bench"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
body = json.dumps({"files": [{"name": "http-bench.bpmn", "xml": xml}]}).encode()
req = urllib.request.Request(sys.argv[1] + "/deployments", body, {"Content-Type": "application/json"})
urllib.request.urlopen(req).read()
PY
echo "# starting instances ($DURATION, $CONNECTIONS connections)"
wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/http/start.lua "$BASE/process-instances" \
    | grep -E 'Requests/sec|Latency|99%|Non-2xx' || true
python3 - "$BASE" "$WORK/tasks" <<'PY'
import json, sys, urllib.request
base, out = sys.argv[1], sys.argv[2]
ids, offset = [], 0
while True:
    page = json.load(urllib.request.urlopen(f"{base}/tasks?group=bench&limit=1000&offset={offset}"))
    if not page: break
    ids += [t["id"] for t in page]; offset += len(page)
open(out, "w").write("\n".join(ids) + "\n")
print(f"# {len(ids)} open tasks to complete")
PY
echo "# completing tasks ($DURATION, $CONNECTIONS connections)"
TASKS="$WORK/tasks" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/http/complete.lua "$BASE" \
    | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|requests in' || true
