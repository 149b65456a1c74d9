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
# The browser tests (cmd/parley TestBrowser*, one Chromium at a time) are the longest run: they go in one process
# while every other test runs in a second one, a package at a time (-p 1), so two processes share the two cores
# and the browsers are never starved by more than one other package. Both must pass.
log "go test -race (browser tests in a process of their own)"
browser_log="$(mktemp)"
trap 'rm -f "$browser_log"' EXIT
go test -race -count=1 -timeout 20m ${PARLEY_TEST_FLAGS:-} -run '^TestBrowser' ./cmd/parley >"$browser_log" 2>&1 &
browser_pid=$!
rest=0
go test -race -count=1 -timeout 20m -p 1 ${PARLEY_TEST_FLAGS:-} -skip '^TestBrowser' ./... || rest=$?
browser=0
wait "$browser_pid" || browser=$?
log "browser tests (cmd/parley -run '^TestBrowser')"
cat "$browser_log"
if [ "$rest" -ne 0 ] || [ "$browser" -ne 0 ]; then
  log "FAILED: other tests exit $rest, browser tests exit $browser"
  exit 1
fi
