# Brine. `make demo` and `make test` are the two commands that matter; both
# install what they need (idempotently) before they run.
GO        ?= go
BIN       := bin
PKGS      := ./...
export GOFLAGS ?= -buildvcs=false
export CGO_ENABLED ?= 0

.PHONY: all build test lint bench demo deps fuzz clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/brine-master ./cmd/master
	$(GO) build -o $(BIN)/brine-minion ./cmd/minion
	$(GO) build -o $(BIN)/brinectl ./cmd/ctl

# deps installs what the tests use from outside Go: libzmq's Python binding for
# the interoperability tests, PostgreSQL server binaries, git, dpkg tools.
deps:
	@./deploy/test-deps.sh

test: deps build
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)
	@$(MAKE) --no-print-directory fuzz

# fuzz runs every Fuzz target briefly; the corpus in testdata/fuzz is kept.
# The budget is a count, not a duration: Go 1.26's fuzz coordinator can fail
# a run at a duration's deadline with no failing input (go.dev/issue/75804).
FUZZTIME ?= 10000x
fuzz:
	@for pkg in $$($(GO) list ./pkg/...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { echo "$$out" | tail -40; exit 1; }; \
	  done; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./...

demo: build
	@./deploy/demo.sh

clean:
	rm -rf $(BIN)
