# Spartan Messenger. `make run` starts the server; `make test` sets up and runs every check.
SHELL := /bin/bash
GO    ?= go
# The Go release every step builds and tests with (go downloads it from the
# module proxy once): a patch release with the standard library's security
# fixes, which `make vulncheck` checks.
export GOTOOLCHAIN := go1.26.10
VENV  := .venv
PY    := $(VENV)/bin/python
BIN   := $(CURDIR)/bin
PYDIR := clients/python
WEB   := clients/web
# The browser the web client's tests drive: Debian's chromium (`make chromium`).
CHROMIUM ?= /usr/bin/chromium

# The Go tools pinned in tools/go.mod (buf, grpcurl, the protoc plugins) and
# tools/lint/go.mod (golangci-lint), built into $(BIN) by `make tools` before
# any step uses them: a test must not compile a tool on a cold cache within its
# own deadline, and a tool compiled once serves every later step at once.
TOOL_PKGS := github.com/bufbuild/buf/cmd/buf \
	github.com/fullstorydev/grpcurl/cmd/grpcurl \
	google.golang.org/protobuf/cmd/protoc-gen-go \
	connectrpc.com/connect/cmd/protoc-gen-connect-go
LINT_PKG  := github.com/golangci/golangci-lint/v2/cmd/golangci-lint
BUF       := $(BIN)/buf
LINT      := $(BIN)/golangci-lint

# HEARTBEAT runs a step that can work for minutes without a word (compiling
# on a cold cache, go test -race, golangci-lint) and prints a line every 30 s
# meanwhile. Every step of `make test` starts with a "==> what" line.
HEARTBEAT  := bash $(CURDIR)/tools/heartbeat
FOREGROUND := bash $(CURDIR)/tools/foreground

.PHONY: help run cluster build tools redis generate checkgenerate lint test test-go fuzz vulncheck test-python bench bench-go venv clean web-deps web checkweb chromium test-web

## help: list the targets, with what each does (the "## target:" comments below)
help:
	@awk '/^## [a-z-]+:/ { if (t) print t; t = substr($$0, 4); next } /^## / && t { t = t " " substr($$0, 4); next } { if (t) print t; t = "" }' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+): /  \1\t/' | expand -t 18

## run: start the server on port 3000 with ./config.yaml (embedded defaults without it);
## flags in ARGS (make run ARGS="-port 3100")
# The server runs as the terminal's foreground job (tools/foreground), so
# Ctrl-C stops it alone and make ends quietly with the server's status, 0.
run:
	@$(GO) build -o $(BIN)/spartan-server ./cmd/spartan-server
	@$(FOREGROUND) $(BIN)/spartan-server $(ARGS)

## cluster: redis-server and three nodes on 127.0.0.1:3001-3003 sharing it, for a
## local demo; Ctrl-C stops them all
cluster: build redis
	@$(FOREGROUND) bash $(CURDIR)/tools/cluster $(BIN)

## build: build the server (spartan-server) and the CLI (spartan) into ./bin
build:
	@echo "==> go build ./cmd/... (spartan-server, spartan) into bin/"
	@$(HEARTBEAT) "building the server and the CLI" $(GO) build -o $(BIN)/ ./cmd/...

## tools: build buf, grpcurl, the protoc plugins and golangci-lint into ./bin
tools:
	@echo "==> building tools into bin/ (the first run downloads and compiles buf, grpcurl and golangci-lint: a few minutes)"
	@$(HEARTBEAT) "building buf, grpcurl and the protoc plugins" $(GO) build -modfile=tools/go.mod -o $(BIN)/ $(TOOL_PKGS)
	@$(HEARTBEAT) "building golangci-lint" $(GO) build -modfile=tools/lint/go.mod -o $(BIN)/ $(LINT_PKG)

## venv: the Python virtualenv for the Python client's tests and stub generation
venv: $(VENV)/.installed
$(VENV)/.installed: $(PYDIR)/requirements.txt $(PYDIR)/requirements-dev.txt
	@echo "==> python virtualenv $(VENV) from $(PYDIR)/requirements-dev.txt"
	@python3 -m venv $(VENV)
	@$(HEARTBEAT) "installing Python packages" $(PY) -m pip install --quiet --disable-pip-version-check -r $(PYDIR)/requirements-dev.txt
	@touch $@

## generate: Go code (buf, local plugins) into gen/, TypeScript into
## clients/web/src/gen/ (protoc-gen-es from clients/web's packages), Python
## stubs into clients/python/
generate: venv tools web-deps
	@echo "==> buf generate; grpc_tools.protoc (Python stubs)"
	@$(BUF) generate
	@$(PY) -m grpc_tools.protoc -Iproto --python_out=$(PYDIR) --pyi_out=$(PYDIR) --grpc_python_out=$(PYDIR) $$(find proto -name '*.proto' | sort)

## checkgenerate: fail when generated code is not what `make generate` makes
checkgenerate: generate
	@echo "==> checkgenerate: generated code is up to date"
	@if [ -n "$$(git status --porcelain -- gen $(PYDIR) $(WEB)/src/gen)" ]; then \
		git status --porcelain -- gen $(PYDIR) $(WEB)/src/gen; \
		echo "generated code is stale: run 'make generate' and commit the result"; exit 1; fi

## lint: buf lint/format/breaking, go vet, golangci-lint
lint: tools
	@echo "==> buf lint; buf format"
	@$(BUF) lint
	@$(BUF) format -d --exit-code
	@if git cat-file -e main:buf.yaml 2>/dev/null; then \
		echo "==> buf breaking --against main"; $(BUF) breaking --against '.git#branch=main'; fi
	@echo "==> go vet ./..."
	@$(HEARTBEAT) "running go vet" $(GO) vet ./...
	@echo "==> golangci-lint run ./..."
	@$(HEARTBEAT) "running golangci-lint" $(LINT) run ./...

## redis: install redis-server (Debian's package) when it is absent; the
## tests start their own on free loopback ports
redis:
	@if ! command -v redis-server >/dev/null; then \
		echo "==> installing redis-server (apt-get install redis-server): the tests run real ones"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$(HEARTBEAT) "running apt-get update" $$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(HEARTBEAT) "installing redis-server" $$SUDO apt-get install -y -qq redis-server >/dev/null; \
	fi
	@command -v redis-server >/dev/null || { echo "redis-server is still missing: install the Debian package redis-server"; exit 1; }

## test-go: every Go test, with the race detector
test-go: build tools redis
	@echo "==> go test -race ./... (the first run compiles everything again with the race detector)"
	@TEST_SPARTAN_BIN=$(BIN) $(HEARTBEAT) "running go test -race" $(GO) test -race -count=1 -timeout 8m ./...

## fuzz: a short run of each fuzzer (seeds in the tests and their
## testdata/fuzz; a failure's input lands there, to commit with its fix). Runs
## are counted in inputs, not seconds: at the end of a timed run the engine
## can report a deadline on a slow input, which is no finding.
FUZZERS := ./internal/auth:FuzzUser:100000x ./internal/config:FuzzLoad:2000x \
	./clients/go/e2e:FuzzOpen:200000x ./internal/chat:FuzzRequests:10000x
fuzz:
	@for f in $(FUZZERS); do \
		pkg=$${f%%:*}; rest=$${f#*:}; name=$${rest%%:*}; n=$${rest##*:}; \
		echo "==> fuzzing $$name in $$pkg ($$n)"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $$n $$pkg 2>&1) || { echo "$$out"; exit 1; }; \
	done

## vulncheck: govulncheck (pinned in tools/vuln/go.mod) against a pinned copy
## of the Go vulnerability database, taken from the module proxy
## (golang.org/x/vulndb's OSV files): vuln.go.dev itself is not reachable from
## every machine that builds this. Raise VULNDB to take newer advisories.
VULNDB := golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
vulncheck:
	@echo "==> govulncheck ./... against $(VULNDB)"
	@dir=$$($(GO) mod download -json $(VULNDB) | sed -n 's/.*"Dir": "\(.*\)",/\1/p') && \
		test -n "$$dir" && \
		$(HEARTBEAT) "running govulncheck" $(GO) tool -modfile=tools/vuln/go.mod govulncheck -db "file://$$dir/data/osv" ./...

## test-python: the Python client's tests against the built server
# No heartbeat: its lines would land in the middle of pytest's line of
# progress dots, which, unbuffered, reach a pipe or a CI log as tests end.
test-python: build venv redis
	@echo "==> python tests (pytest in $(PYDIR))"
	@cd $(PYDIR) && TEST_SPARTAN_BIN=$(BIN) PYTHONUNBUFFERED=1 ../../$(PY) -m pytest -q

## web-deps: the web client's pinned npm packages (npm ci in clients/web),
## when node_modules is missing or older than package-lock.json. No browser
## is downloaded: the tests drive Debian's chromium (`make chromium`).
web-deps: $(WEB)/node_modules/.installed
$(WEB)/node_modules/.installed: $(WEB)/package-lock.json $(WEB)/package.json
	@echo "==> npm ci in $(WEB) (the versions pinned in package-lock.json)"
	@cd $(WEB) && PUPPETEER_SKIP_DOWNLOAD=1 $(HEARTBEAT) "installing npm packages" npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## web: rebuild the browser client's page into clients/web/dist (checked in:
## the server embeds it, so `make run` needs only Go), after a type check
web: web-deps
	@echo "==> tsc --noEmit; esbuild: the page into $(WEB)/dist, the library for the tests into $(WEB)/build"
	@cd $(WEB) && npm run --silent typecheck && npm run --silent build

## checkweb: fail when the checked-in page is not what its sources build
checkweb: web
	@echo "==> checkweb: $(WEB)/dist is built from $(WEB)/src"
	@if [ -n "$$(git status --porcelain -- $(WEB)/dist)" ]; then \
		git status --porcelain -- $(WEB)/dist; \
		echo "the built page is stale: run 'make web' and commit $(WEB)/dist"; exit 1; fi

## chromium: install Debian's chromium when it is absent; the web client's
## tests drive it headless
chromium:
	@if ! [ -x $(CHROMIUM) ]; then \
		echo "==> installing chromium (apt-get install chromium): the browser tests drive a real one"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$(HEARTBEAT) "running apt-get update" $$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(HEARTBEAT) "installing chromium" $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@[ -x $(CHROMIUM) ] || { echo "$(CHROMIUM) is still missing: install the Debian package chromium (or set CHROMIUM)"; exit 1; }

## test-web: the web client's tests (node --test): the e2e vectors and the
## library under Node against the built server, then the page in headless
## Chromium with the Go CLI (clients/web/test-results/ gets the screenshots)
test-web: build web-deps chromium
	@echo "==> esbuild: the library for the tests into $(WEB)/build"
	@cd $(WEB) && node build.mjs --lib
	@echo "==> node --test in $(WEB) (vectors, library, browser; about 15 s)"
	@cd $(WEB) && TEST_SPARTAN_BIN=$(BIN) CHROMIUM=$(CHROMIUM) node --test --test-reporter=spec test/*.test.mjs

## test: set up and run every check and test
test: lint checkgenerate checkweb test-go fuzz vulncheck test-python test-web

## bench: spartan-bench -short (under 3 minutes): the whole product against a
## bare relay in the same run; rewrites the generated tables of
## docs/PERFORMANCE.md and docs/bench-latency.svg. `make bench BENCH=-long`
## for the long run (10 s windows, 3 runs, a group of 1,000: ~30 minutes)
BENCH ?= -short
bench: build redis
	@echo "==> spartan-bench $(BENCH): docs/PERFORMANCE.md, docs/bench-latency.svg"
	$(BIN)/spartan-bench $(BENCH) -server-bin $(BIN)/spartan-server -md docs/PERFORMANCE.md -svg docs/bench-latency.svg

## bench-go: the component benchmarks (go test -bench; BenchmarkCluster runs
## the built server binaries: one node and three nodes on Redis, one node on
## bolt; docs/benchmarks.md)
bench-go: build redis
	TEST_SPARTAN_BIN=$(BIN) $(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN) $(VENV)
