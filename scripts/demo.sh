#!/usr/bin/env bash
# npm run demo: set-up, the local stack, then the main job end to end with a link to the Web UI.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local METADATA_SERVER_DETECTION=none
bash scripts/setup.sh
npx tsx src/stack/cli.ts up
exec npx tsx scripts/demo.ts "$@"
