#!/usr/bin/env bash
# make run: start PostgreSQL (installing it if missing), create the database, build, migrate, seed the demo and
# serve on http://localhost:8080 (PARLEY_ADDR / PARLEY_BASE_URL change that).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_go
ensure_postgres
ensure_fonts
db="${PARLEY_DB_NAME:-parley}"
ensure_database "$db"
export PARLEY_DATABASE_URL="${PARLEY_DATABASE_URL:-postgres://postgres@$PG_HOST:$PG_PORT/$db?sslmode=disable}"
if [ -n "${PARLEY_REDIS_URL:-}" ]; then ensure_redis; fi

log "building"
mkdir -p bin
go build -trimpath -ldflags "-X main.version=$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/parley ./cmd/parley
log "migrating"
bin/parley migrate
log "seeding the demo"
bin/parley demo
log "serving (Ctrl-C stops)"
exec bin/parley serve
