# Spartan Messenger. `make run` starts the server; `make test` sets up and runs every check.
SHELL := /bin/bash
GO    ?= go
TOOL  := $(GO) tool -modfile=tools/go.mod
LINT  := $(GO) tool -modfile=tools/lint/go.mod golangci-lint
VENV  := .venv
PY    := $(VENV)/bin/python
BIN   := $(CURDIR)/bin
PYDIR := clients/python

.PHONY: run build generate checkgenerate lint test test-go test-python bench venv clean

## run: start the server on port 3000 with ./config.yaml (embedded defaults without it)
run:
	$(GO) run ./cmd/spartan-server $(ARGS)

## build: build the server (spartan-server) and the CLI (spartan) into ./bin
build:
	$(GO) build -o $(BIN)/ ./cmd/...

## venv: the Python virtualenv for the Python client's tests and stub generation
venv: $(VENV)/.installed
$(VENV)/.installed: $(PYDIR)/requirements.txt $(PYDIR)/requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(PYDIR)/requirements-dev.txt
	touch $@

## generate: Go code (buf, local plugins) into gen/, Python stubs into clients/python/
generate: venv
	$(TOOL) buf generate
	$(PY) -m grpc_tools.protoc -Iproto --python_out=$(PYDIR) --pyi_out=$(PYDIR) --grpc_python_out=$(PYDIR) $$(find proto -name '*.proto' | sort)

## checkgenerate: fail when generated code is not what `make generate` makes
checkgenerate: generate
	@if [ -n "$$(git status --porcelain -- gen $(PYDIR))" ]; then \
		git status --porcelain -- gen $(PYDIR); \
		echo "generated code is stale: run 'make generate' and commit the result"; exit 1; fi

## lint: buf lint/format/breaking, go vet, golangci-lint
lint:
	$(TOOL) buf lint
	$(TOOL) buf format -d --exit-code
	@if git cat-file -e main:buf.yaml 2>/dev/null; then \
		echo "buf breaking --against main"; $(TOOL) buf breaking --against '.git#branch=main'; fi
	$(GO) vet ./...
	$(LINT) run ./...

## test-go: every Go test, with the race detector
test-go: build
	TEST_SPARTAN_BIN=$(BIN) $(GO) test -race -count=1 -timeout 8m ./...

## test-python: the Python client's tests against the built server
test-python: build venv
	cd $(PYDIR) && TEST_SPARTAN_BIN=$(BIN) ../../$(PY) -m pytest -q

## test: set up and run every check and test
test: lint checkgenerate test-go test-python

## bench: the Go benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN) $(VENV)
