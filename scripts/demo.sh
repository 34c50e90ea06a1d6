#!/usr/bin/env bash
# npm run demo [-- <family>]: set-up, the local stack, then one family's job end to end (default:
# export) with a link to the Web UI. `npm run demo -- --help` lists the families.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local METADATA_SERVER_DETECTION=none
case "${1:-}" in -h | --help | help) exec npx tsx scripts/demo.ts --help ;; esac
# an unknown family is refused (exit 2, one line listing the known ones) before any set-up
npx tsx scripts/demo.ts --check "$@"
bash scripts/setup.sh
npx tsx src/stack/cli.ts up
exec npx tsx scripts/demo.ts "$@"
