#!/usr/bin/env bash
# Shared set-up steps for scripts/run.sh and scripts/test.sh. Each step checks first and only installs or starts
# what is missing, so the scripts are cheap on a machine that has everything.
set -euo pipefail

GO_VERSION="${PARLEY_GO_VERSION:-1.26.8}"
PG_HOST=127.0.0.1
PG_PORT=5432

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

APT_UPDATED=""
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ensure_go puts Go $GO_VERSION (or newer) on PATH, fetching the toolchain from the Go module proxy if needed.
ensure_go() {
  local have=""
  if command -v go >/dev/null; then have="$(go env GOVERSION 2>/dev/null | sed 's/^go//')"; fi
  if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$GO_VERSION" "$have" | sort -V | head -1)" = "$GO_VERSION" ]; then return 0; fi
  local dir="/usr/local/go$GO_VERSION"
  if [ ! -x "$dir/bin/go" ]; then
    log "installing Go $GO_VERSION from the Go module proxy"
    apt_install ca-certificates curl unzip
    local arch; arch="$(dpkg --print-architecture)"
    local tmp; tmp="$(mktemp -d)"
    curl -fsSL "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-$arch.zip" -o "$tmp/go.zip"
    unzip -q "$tmp/go.zip" -d "$tmp"
    as_root mv "$tmp/golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-$arch" "$dir"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
}

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }

# ensure_postgres installs and starts PostgreSQL and makes sure user postgres can connect over TCP from this
# machine without a password (trust for 127.0.0.1 and ::1 only), as the default database URLs expect.
ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null && ! pg_ready; then apt_install postgresql postgresql-client; fi
  command -v psql >/dev/null || apt_install postgresql-client
  if ! pg_ready; then
    log "starting PostgreSQL"
    local ver; ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    if [ -z "$ver" ]; then echo "PostgreSQL is installed but has no cluster in /etc/postgresql" >&2; return 1; fi
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
    pg_ready || { echo "PostgreSQL did not start" >&2; return 1; }
  fi
  # The browser tests run inside a network namespace and reach PostgreSQL through its Unix socket.
  if ! psql -h "$PG_HOST" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1 ||
     ! psql -h /var/run/postgresql -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    local hba; hba="$(as_root su postgres -c "psql -tAc 'show hba_file'" 2>/dev/null || true)"
    if [ -n "$hba" ] && [ -f "$hba" ]; then
      log "allowing passwordless local connections for user postgres in $hba"
      as_root sed -i '1i local all postgres trust\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
      as_root su postgres -c "psql -tAc 'select pg_reload_conf()'" >/dev/null
      sleep 1
    fi
    psql -h "$PG_HOST" -U postgres -d postgres -tAc 'select 1' >/dev/null || {
      echo "cannot connect to PostgreSQL as postgres@$PG_HOST: set PARLEY_DATABASE_URL / PARLEY_TEST_DATABASE_URL" >&2; return 1; }
  fi
}

# ensure_database creates database $1 if it does not exist.
ensure_database() {
  local db="$1"
  if ! psql -h "$PG_HOST" -U postgres -d postgres -tAc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
    log "creating database $db"
    psql -h "$PG_HOST" -U postgres -d postgres -qc "create database \"$db\""
  fi
}

# ensure_redis installs and starts Redis on 127.0.0.1:6379 (nothing kept on disk).
ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  command -v redis-cli >/dev/null || apt_install redis-tools
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/parley.log
    for _ in $(seq 1 20); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
}

# ensure_test_tools installs what the signing and browser tests run: poppler (pdfsig, pdftotext, pdftoppm), qpdf,
# Chromium, the fonts documents use, iproute2 for network namespaces, and ffmpeg (ffprobe checks recordings).
ensure_test_tools() {
  apt_install poppler-utils qpdf chromium fonts-lxgw-wenkai fonts-arphic-gbsn00lp iproute2 ffmpeg
  ensure_validators
  ensure_firefox_driver
  ensure_axe
}

# ensure_validators installs the independent signature validators the signing tests run (issue 9): NSS's
# certutil (pdfsig's trust store), openssl, and pdfcpu's CLI built from the Go module proxy into GOPATH/bin.
# digitorus/pdfsign's verifier is built by the tests from this module's dependencies.
PDFCPU_VERSION="${PARLEY_PDFCPU_VERSION:-v0.15.0}"
ensure_validators() {
  apt_install libnss3-tools openssl
  local bin; bin="$(go env GOPATH)/bin"
  if [ ! -x "$bin/pdfcpu" ] && ! command -v pdfcpu >/dev/null; then
    log "building pdfcpu $PDFCPU_VERSION from the Go module proxy"
    (cd "$(mktemp -d)" && GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/pdfcpu/pdfcpu/cmd/pdfcpu@$PDFCPU_VERSION")
  fi
  export PATH="$PATH:$bin"
}

# ensure_firefox_driver installs Firefox ESR and Node.js, and the test-only puppeteer-core that drives Firefox over
# WebDriver BiDi (cmd/parley/testdata/ff, pinned by its package-lock.json; no browser download).
ensure_firefox_driver() {
  apt_install firefox-esr nodejs
  command -v npm >/dev/null 2>&1 || apt_install npm # Debian's nodejs comes without npm; NodeSource's has it
  if [ ! -d cmd/parley/testdata/ff/node_modules/puppeteer-core ]; then
    (cd cmd/parley/testdata/ff && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

# ensure_axe installs the test-only axe-core that the browser tests run on the main pages (cmd/parley/testdata/axe,
# pinned by its package-lock.json; nothing of it is served, and no browser is downloaded).
ensure_axe() {
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  if [ ! -f cmd/parley/testdata/axe/node_modules/axe-core/axe.min.js ]; then
    (cd cmd/parley/testdata/axe && npm ci --no-audit --no-fund)
  fi
}

# ensure_fonts installs the fonts Parley's PDFs embed, and poppler, which renders document pages for phones.
ensure_fonts() {
  apt_install fonts-lxgw-wenkai fonts-arphic-gbsn00lp poppler-utils
}
