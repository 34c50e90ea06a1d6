#!/usr/bin/env bash
# Builds rclone (pinned) into .tools/bin/rclone for `npm run bench -- --peer rclone`; only the
# bench calls it, so `npm test` and setup never pay for it. A second run returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${BQSFTP_TOOLS_DIR:-$PWD/.tools}"
VERSION="${RCLONE_VERSION:-v1.76.0}"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"
mkdir -p "$TOOLS/bin" "$TOOLS/versions" "$TOOLS/logs"
if [ -x "$TOOLS/bin/rclone" ] && [ "$(cat "$TOOLS/versions/rclone" 2>/dev/null)" = "$VERSION" ]; then
  echo "[rclone] $VERSION cached ($TOOLS/bin/rclone)"
  exit 0
fi
command -v go >/dev/null || { echo "[rclone] Go is not installed; it builds rclone (see scripts/setup.sh)" >&2; exit 1; }
echo "[rclone] building rclone $VERSION from the Go module proxy (minutes on 2 cores; log: $TOOLS/logs/rclone.log) …" >&2
t=$(date +%s)
{
  dir=$(go mod download -json "github.com/rclone/rclone@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "could not download github.com/rclone/rclone@$VERSION"; exit 1; }
  # the module cache is read-only: build inside it, output outside
  (cd "$dir" && go build -trimpath -o "$TOOLS/bin/rclone.tmp" .)
} > "$TOOLS/logs/rclone.log" 2>&1 || { echo "[rclone] build failed; see $TOOLS/logs/rclone.log" >&2; tail -20 "$TOOLS/logs/rclone.log" >&2; exit 1; }
mv "$TOOLS/bin/rclone.tmp" "$TOOLS/bin/rclone"
echo "$VERSION" > "$TOOLS/versions/rclone"
echo "$(( $(date +%s) - t ))" > "$TOOLS/logs/rclone.seconds"
echo "[rclone] built $VERSION in $(( $(date +%s) - t )) s" >&2
