#!/usr/bin/env bash
# Every motcua benchmark and the two peers in one run, on this machine, then the ratios the
# project aims at. Usage: bash bench/run-all.sh   (N=5000 instances; PG=<server URL>)
# PostgreSQL runs need a server: PG defaults to postgres://postgres@127.0.0.1:5432/postgres.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N="${N:-5000}"
PG="${PG:-postgres://postgres@127.0.0.1:5432/postgres}"
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT

cargo build --release -q -p motcua-bench
B=target/release/motcua-bench
run() { echo "\$ motcua-bench $*" >&2; "$B" "$@" | tee -a "$OUT"; }

run --instances "$N" --durability full --concurrency 1
run --instances "$N" --durability full --concurrency 32
run --instances "$N" --durability normal --concurrency 1
run --instances "$N" --durability normal --concurrency 32
run --database "$PG" --instances "$N" --concurrency 32 --nodes 1
run --database "$PG" --instances "$N" --concurrency 32 --nodes 2
run --queue-tasks 1000000
run --queue-tasks 1000000 --database "$PG"
run --timers 100000 --durability full
bash bench/peers/run.sh 2000 | tee -a "$OUT"

rate() { grep -E "$1" "$OUT" | sed -E 's/.*instances_per_s=([0-9.]+).*/\1/' | head -n 1; }
spiff=$(rate '^peer=spiffworkflow')
bpmn=$(rate '^peer=bpmn-engine')
full=$(rate 'database=sqlite durability=full nodes=1 concurrency=32')
pg1=$(rate 'database=postgres .*nodes=1 ')
pg2=$(rate 'database=postgres .*nodes=2 ')
echo
echo "ratios (instances/s, every command committed before it is answered):"
awk -v m="$full" -v s="$spiff" -v b="$bpmn" -v p1="$pg1" -v p2="$pg2" 'BEGIN {
  printf "  motcua SQLite FULL, 32 clients / SpiffWorkflow = %.1fx (aim 10x)\n", m / s;
  printf "  motcua SQLite FULL, 32 clients / bpmn-engine   = %.1fx (aim 50x)\n", m / b;
  printf "  motcua PostgreSQL 2 nodes / 1 node             = %.2fx (aim 1.6x)\n", p2 / p1;
}'
