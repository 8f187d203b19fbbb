#!/usr/bin/env bash
# The extension's checks, run by `make test`: grammar assertion tests,
# snapshot tests over the examples and the language tour, and the .vsix
# package. Installs the npm tools from package-lock.json when they changed.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "npm is missing; .ci/install-deps installs it" >&2; exit 1; }
if ! cmp -s package-lock.json node_modules/.orderflow-lock 2>/dev/null; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.orderflow-lock
fi
npm test
npm run package
test -s orderflow.vsix
