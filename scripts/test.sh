#!/usr/bin/env bash
# npm test: set-up, the local stack (started here unless it already runs), every test, teardown.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local METADATA_SERVER_DETECTION=none
bash scripts/setup.sh
was_up=0
if npx tsx src/stack/cli.ts status >/dev/null 2>&1; then was_up=1; fi
npx tsx src/stack/cli.ts up
if [ "$was_up" = 0 ]; then
  trap 'npx tsx src/stack/cli.ts down > "${BQSFTP_STACK_DIR:-.stack}/logs/stack-down.log" 2>&1 || true' EXIT
fi
npx tsc --noEmit -p . && echo "[test] typecheck ok"
npx eslint . && echo "[test] lint ok"
bash scripts/run-tests.sh "$@"
