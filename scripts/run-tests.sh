#!/usr/bin/env bash
# Runs the test files (all, or those given) against the running local stack with node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
export METADATA_SERVER_DETECTION=none BQSFTP_LOG_LEVEL="${BQSFTP_LOG_LEVEL:-WARN}"
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
# one line instead of ECONNREFUSED traces when a file needs the stack and it is not running
node --import tsx src/stack/stack-check.ts test -- "${files[@]}" || exit 1
exec node --import tsx --require ./test/helpers/exit-after-sigterm.cjs --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "${files[@]}"
