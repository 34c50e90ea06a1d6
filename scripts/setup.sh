#!/usr/bin/env bash
# Idempotent set-up: npm packages, the pinned Go-built servers (cached in .tools/), and the
# Debian packages for sshd and PostgreSQL. A second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS="${BQSFTP_TOOLS_DIR:-$ROOT/.tools}"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false"
start=$(date +%s)
say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# --- npm packages ---------------------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages from package-lock.json …"
  # not `npm ci`: the registry mirror lacks some optional per-platform packages (@swc/core-darwin-*),
  # which the lock therefore cannot list and `npm ci` then calls out of sync
  npm install --no-save --no-audit --no-fund --loglevel=error
else
  say "npm packages up to date"
fi

# --- Debian packages ------------------------------------------------------------------------
need_apt=()
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh-keygen >/dev/null && command -v sftp >/dev/null || need_apt+=(openssh-client)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    die "missing Debian packages: ${need_apt[*]}. Install them as root: sudo apt-get update && sudo apt-get install -y ${need_apt[*]}"
  fi
  say "installing Debian packages: ${need_apt[*]} …"
  export DEBIAN_FRONTEND=noninteractive
  # keep the packages' own services (system sshd on :22, the main PostgreSQL cluster) from starting
  policy=/usr/sbin/policy-rc.d; made_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1; fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  [ "$made_policy" = 1 ] && rm -f "$policy"
else
  say "Debian packages present (openssh-server, postgresql)"
fi

# --- Go-built servers, pinned -----------------------------------------------------------------
command -v go >/dev/null || die "Go is not installed; it builds the Temporal CLI and the emulators (apt-get install golang or see go.dev)."
mkdir -p "$TOOLS/bin" "$TOOLS/versions"
built() { [ -x "$TOOLS/bin/$1" ] && [ "$(cat "$TOOLS/versions/$1" 2>/dev/null)" = "$2" ]; }
mark() { echo "$2" > "$TOOLS/versions/$1"; }

go_install() { # name module@version
  local name=$1 pkg=$2 version=${2##*@}
  if built "$name" "$version"; then say "$name $version cached"; return; fi
  say "building $name $version with go install (first time only; the Temporal CLI takes minutes) …"
  local t=$(date +%s)
  GOBIN="$TOOLS/bin" go install "$pkg"
  mark "$name" "$version"; say "built $name in $(( $(date +%s) - t )) s"
}

go_install temporal github.com/temporalio/cli/cmd/temporal@v1.5.1
go_install fake-gcs-server github.com/fsouza/fake-gcs-server@v1.55.1

# The proxy refuses the emulator's version *list*, which `go install pkg@v` reads for deprecation
# notices, but serves the module itself: download it and build inside the module.
BQ_VERSION=v0.8.1
if built bigquery-emulator "$BQ_VERSION"; then
  say "bigquery-emulator $BQ_VERSION cached"
else
  say "building bigquery-emulator $BQ_VERSION (first time only; a few minutes) …"
  t=$(date +%s)
  dir=$(go mod download -json "github.com/goccy/bigquery-emulator@$BQ_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || die "could not download github.com/goccy/bigquery-emulator@$BQ_VERSION"
  (cd "$dir" && go build -trimpath -o "$TOOLS/bin/bigquery-emulator" ./cmd/bigquery-emulator)
  mark bigquery-emulator "$BQ_VERSION"; say "built bigquery-emulator in $(( $(date +%s) - t )) s"
fi

say "done in $(( $(date +%s) - start )) s"
