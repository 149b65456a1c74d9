# The two commands of the README. Both do their own set-up on a fresh Debian machine (see scripts/lib.sh).
.PHONY: run test build vet bench clean

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

build:
	go build -trimpath -o bin/parley ./cmd/parley

vet:
	go vet ./...

bench:
	go test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
