#!/usr/bin/env bash
# npm run test:faults: the fault suite alone (crashes, restarts, outages, bad input, secrets,
# wrong host key, duplicate starts, Slack down), with npm test's set-up and stack handling.
# BQSFTP_FAULT_TRIALS=<n> sets the trials of the repeated cases (defaults: R1 5, R2 3, the families 1-3 each; the README figures used R1 10, R2 5).
# Counts are printed as "# FIGURES …" lines and appended to .stack/logs/fault-figures.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/test.sh test/faults/*.test.ts test/export/failure-modes.test.ts
