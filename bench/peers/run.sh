#!/usr/bin/env bash
# Peer benchmarks: the same 5-user-task process (bench/five-tasks.bpmn) run by
# SpiffWorkflow 3.2.0 (Python) and bpmn-engine 25 (Node.js), each persisting the
# whole instance state to a JSON string (in memory) after every step.
#
# Usage: bash bench/peers/run.sh [N]      N instances per peer, default 2000
#
# Installs into bench/.peers/ (git-ignored) on first use:
#   bench/.peers/venv   Python venv with SpiffWorkflow==3.2.0 (PyPI)
#   bench/.peers/node   npm project with bpmn-engine@25 (npm registry)
# Prints one line per peer:
#   peer=<name> instances=<N> seconds=<s> instances_per_s=<x>
set -euo pipefail

N="${1:-2000}"
case "$N" in
  '' | *[!0-9]*) echo "usage: $0 [N]  (N: positive integer)" >&2; exit 2 ;;
esac

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH="$(dirname "$HERE")"
PEERS="$BENCH/.peers"
VENV="$PEERS/venv"
NODE_DIR="$PEERS/node"
SPIFF_VERSION="3.2.0"
BPMN_ENGINE_MAJOR="25"

mkdir -p "$PEERS"

# --- SpiffWorkflow --------------------------------------------------------
PYTHON="${PYTHON:-python3}"
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('SpiffWorkflow') != '$SPIFF_VERSION')" 2>/dev/null; then
  echo "# installing SpiffWorkflow==$SPIFF_VERSION into $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "SpiffWorkflow==$SPIFF_VERSION" >&2
fi

# --- bpmn-engine ------------------------------------------------------------
if ! (cd "$NODE_DIR" 2>/dev/null && node -e "process.exit(require('./node_modules/bpmn-engine/package.json').version.split('.')[0] === '$BPMN_ENGINE_MAJOR' ? 0 : 1)") 2>/dev/null; then
  echo "# installing bpmn-engine@$BPMN_ENGINE_MAJOR into $NODE_DIR" >&2
  mkdir -p "$NODE_DIR"
  if [ ! -f "$NODE_DIR/package.json" ]; then
    printf '{\n  "name": "motcua-bench-peers",\n  "private": true\n}\n' > "$NODE_DIR/package.json"
  fi
  (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund "bpmn-engine@$BPMN_ENGINE_MAJOR" >&2)
fi

echo "# $("$VENV/bin/python" -c "import importlib.metadata as m; print('SpiffWorkflow', m.version('SpiffWorkflow'))"), python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())')" >&2
echo "# bpmn-engine $(cd "$NODE_DIR" && node -p "require('./node_modules/bpmn-engine/package.json').version"), node $(node --version)" >&2

# --- run ------------------------------------------------------------------
"$VENV/bin/python" "$HERE/spiff_bench.py" "$N"
PEERS_NODE_DIR="$NODE_DIR" node "$HERE/bpmn_engine_bench.mjs" "$N"
