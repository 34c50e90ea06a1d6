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
command -v gpg >/dev/null || need_apt+=(gnupg)  # the independent OpenPGP reader/writer of test/pgp
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

# --- Python readers the tests use as independent checks (pyarrow opens our Parquet) ---------
if python3 -c 'import pyarrow' 2>/dev/null; then
  say "pyarrow present"
else
  say "installing pyarrow from PyPI (the backup tests read our Parquet with it) …"
  python3 -m pip install --quiet --disable-pip-version-check pyarrow || die "pip could not install pyarrow; install it with: python3 -m pip install pyarrow"
fi

# --- Go-built servers, pinned, built side by side ---------------------------------------------
command -v go >/dev/null || die "Go is not installed; it builds the Temporal CLI and the emulators (apt-get install golang or see go.dev)."
mkdir -p "$TOOLS/bin" "$TOOLS/versions" "$TOOLS/logs"
built() { [ -x "$TOOLS/bin/$1" ] && [ "$(cat "$TOOLS/versions/$1" 2>/dev/null)" = "$2" ]; }
mark() { echo "$2" > "$TOOLS/versions/$1"; }

# Builds inside a downloaded module (for modules `go install pkg@v` refuses: the proxy withholds
# their version list, or their go.mod has replace/exclude directives).
build_in_module() { # module@version package-dir output
  local dir
  dir=$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "could not download $1" >&2; return 1; }
  (cd "$dir" && go build -trimpath -o "$3" "$2")
}

build_tool() { # name version command...
  local name=$1 version=$2; shift 2
  local t; t=$(date +%s)
  if "$@"; then mark "$name" "$version"; echo "$(( $(date +%s) - t ))" > "$TOOLS/logs/$name.seconds"; return 0; fi
  return 1
}

declare -A pids=() versions=()
start_build() { # name version command...
  local name=$1 version=$2
  if built "$name" "$version"; then say "$name $version cached"; return; fi
  say "building $name $version (log: $TOOLS/logs/$name.log) …"
  versions[$name]=$version
  build_tool "$@" > "$TOOLS/logs/$name.log" 2>&1 &
  pids[$name]=$!
}

start_build temporal v1.5.1 env GOBIN="$TOOLS/bin" go install github.com/temporalio/cli/cmd/temporal@v1.5.1
start_build fake-gcs-server v1.55.1 env GOBIN="$TOOLS/bin" go install github.com/fsouza/fake-gcs-server@v1.55.1
start_build bigquery-emulator v0.8.1 build_in_module github.com/goccy/bigquery-emulator@v0.8.1 ./cmd/bigquery-emulator "$TOOLS/bin/bigquery-emulator"
# Docker Compose v2, only to validate docker-compose.yml in the tests (`docker compose config`).
start_build docker-compose v2.40.3 build_in_module github.com/docker/compose/v2@v2.40.3 ./cmd "$TOOLS/bin/docker-compose"

failed=()
for name in "${!pids[@]}"; do
  if wait "${pids[$name]}"; then
    say "built $name ${versions[$name]} in $(cat "$TOOLS/logs/$name.seconds") s"
  else
    failed+=("$name (log: $TOOLS/logs/$name.log)")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  for f in "${failed[@]}"; do printf '[setup] ERROR: building %s failed; the end of its log:\n' "$f" >&2; done
  for name in "${!pids[@]}"; do built "$name" "${versions[$name]}" || tail -n 15 "$TOOLS/logs/$name.log" >&2; done
  exit 1
fi

say "done in $(( $(date +%s) - start )) s"
