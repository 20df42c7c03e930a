# venue — see README.md. Two commands set everything up: `make run` and `make test`.

GO        ?= go
FUZZTIME  ?= 3s
BENCHTIME ?= 1s
SEEDS     ?= 2000
PKGS      := ./...

.PHONY: all build run test vet race fuzz-smoke bench sim clean

all: build

build:
	$(GO) build -o bin/venue ./cmd/venue

## run: the embedded venue (three members on loopback, the engine, market data) with data under ./venue-data.
## Ctrl-C snapshots and stops it; the next `make run` resumes it. Flags: make run ARGS='--dir /tmp/v'.
run: build
	./bin/venue run $(ARGS)

## test: vet, every test under the race detector, and a short run of every fuzz target.
test: vet race fuzz-smoke

vet:
	$(GO) vet $(PKGS)

race:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

fuzz-smoke:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash .ci/fuzz-smoke

## bench: every go benchmark with allocation counts.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

## sim: run SEEDS seeds of the deterministic cluster simulator and print a summary.
## A failing seed prints itself; replay it with: go test ./cluster/sim -run TestSimulator -sim.seed=N -v
sim:
	$(GO) test ./cluster/sim -run '^TestSimulator$$' -count=1 -timeout 0 -v -sim.seeds=$(SEEDS)

clean:
	rm -rf bin
