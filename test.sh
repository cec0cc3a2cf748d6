#!/usr/bin/env bash
# The one test command: installs the real peers the interop tests start (Node's `ws`, Debian's
# python3-websockets, Debian's tinyproxy) when they are missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")"

peers=tests/FastSidecar.Tests/peers
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_install() {
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || { $SUDO apt-get update -qq >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "test.sh: installing Node.js and npm from Debian" >&2
  apt_install nodejs npm
fi
# npm ci installs exactly what package-lock.json pins; a ws directory of another version is replaced.
if [ -f "$peers/node/package.json" ] && ! grep -qs "\"version\": \"$(sed -n 's/.*"ws": "\(.*\)".*/\1/p' "$peers/node/package.json")\"" "$peers/node/node_modules/ws/package.json"; then
  echo "test.sh: installing Node's ws into $peers/node" >&2
  (cd "$peers/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
if ! command -v tinyproxy >/dev/null && [ ! -x /usr/bin/tinyproxy ]; then
  echo "test.sh: installing Debian's tinyproxy (the HTTP CONNECT proxy the proxy tests start)" >&2
  apt_install tinyproxy
fi
if ! /usr/bin/python3 -I -c 'import websockets' 2>/dev/null; then
  echo "test.sh: installing Debian's python3-websockets" >&2
  apt_install python3-websockets
fi

rm -rf TestResults
# --blame-hang turns a hung test into a failure that names it, well inside CI's time limit.
exec dotnet test FastSidecar.sln -c Release \
  --blame-hang --blame-hang-timeout 6m --blame-hang-dump-type none \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
  --results-directory TestResults "$@"
