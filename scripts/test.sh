#!/usr/bin/env bash
# make test: make sure PostgreSQL, Redis and the test tools are there, then go vet and go test -race against a
# real database (every test works in a schema of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_go
ensure_postgres
ensure_redis
ensure_test_tools
ensure_database test
export PARLEY_TEST_DATABASE_URL="${PARLEY_TEST_DATABASE_URL:-postgres://postgres@$PG_HOST:$PG_PORT/test?sslmode=disable}"
export PARLEY_TEST_REDIS_URL="${PARLEY_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"

log "go vet"
go vet ./...
log "go test -race"
go test -race -count=1 -timeout 20m ${PARLEY_TEST_FLAGS:-} ./...
