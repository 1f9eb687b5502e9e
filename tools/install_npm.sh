#!/usr/bin/env bash
# Installs the npm packages of report/ (the chart libraries inlined into HTML reports) exactly as
# locked; silent when they are already there, so `make` can call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."
lock=report/package-lock.json
# npm writes this copy of the lock file last, so its presence means a finished install.
installed=report/node_modules/.package-lock.json
if [ -f "$installed" ] && [ ! "$installed" -ot "$lock" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  ./tools/install_deps.sh nodejs npm
fi
echo "installing npm packages of report/ (vega, vega-lite, vega-embed)" >&2
(cd report && npm ci --no-audit --no-fund --silent)
# The check above needs the copy newer than the lock, whatever the time resolution of the disk.
touch "$installed"
