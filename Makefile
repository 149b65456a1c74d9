# The two commands of the README. Both do their own set-up on a fresh Debian machine (see scripts/lib.sh).
.PHONY: run test build vet bench bench-verify clean

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

# The verifier on its worst inputs (time, CPU and peak RSS per file); also part of `make bench`.
bench-verify:
	go test -run '^$$' -bench 'BenchmarkVerify' -benchtime 1x ./signing

clean:
	rm -rf bin
