#!/usr/bin/env bash
# The one test command: installs the real WebSocket peers the interop tests start
# (Node's `ws`, Debian's python3-websockets) when they are missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")"

peers=tests/FastSidecar.Tests/peers
if [ -f "$peers/node/package.json" ] && [ ! -d "$peers/node/node_modules/ws" ]; then
  echo "test.sh: installing Node's ws into $peers/node" >&2
  (cd "$peers/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
if ! /usr/bin/python3 -c 'import websockets' 2>/dev/null; then
  echo "test.sh: installing Debian's python3-websockets" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-websockets >/dev/null \
    || { $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-websockets >/dev/null; }
fi

rm -rf TestResults
exec dotnet test FastSidecar.sln -c Release \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
  --results-directory TestResults "$@"
