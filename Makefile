# Seedbed. `make run` starts a whole node with zero configuration (data under
# ./data); `make test` runs every test, as CI does.

GO      ?= go
# nosqlite: anacrolix/torrent's bundled SQLite clashes with mattn/go-sqlite3.
# sqlite_fts5: full-text search in the SQLite catalog.
TAGS    := nosqlite,sqlite_fts5
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 10s
BENCHTIME ?= 1x

export CGO_ENABLED := 1

.PHONY: all build run test unit fuzz lint bench clean

all: build

build:
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o bin/seedbed ./cmd/seedbed

run: build
	./bin/seedbed serve

# The whole suite: lint, unit and end-to-end tests with -race, a short fuzz
# run of every network parser, and every benchmark once so none rots.
test: lint unit fuzz benchcheck

# The end-to-end tests build and run bin/seedbed from the whole tree, which
# Go's test cache cannot see: they always run (-count=1).
unit:
	$(GO) test -race -tags $(TAGS) -timeout 40m $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -race -tags $(TAGS) -timeout 40m -count=1 ./e2e

# Fuzz targets: package:Target pairs.
FUZZ_TARGETS := ./ingest:FuzzSanitizePath ./ingest:FuzzHasher ./multipart:FuzzReader \
	./tracker:FuzzParseAnnounce ./tracker:FuzzParseScrape ./tracker:FuzzParseUDPPacket ./tracker:FuzzClientIP ./tracker:FuzzBencodeWriter ./tracker:FuzzParseHead \
	./tracker/redisstore:FuzzDecodeRecords ./internal/udpload:FuzzParseAnnounceReply ./portal:FuzzParseTusID ./portal:FuzzMarkdown ./portal:FuzzCreationKey ./portal:FuzzRebaseLocation ./portal:FuzzRequestedSpan ./catalog:FuzzSearch

fuzz:
	GO=$(GO) TAGS=$(TAGS) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh $(FUZZ_TARGETS)

benchcheck:
	$(GO) test -tags $(TAGS) -run='^$$' -bench=. -benchtime=$(BENCHTIME) ./ingest ./tracker/... ./portal ./seedbox/...

lint:
	$(GO) vet -tags $(TAGS) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Benchmarks and side-by-side comparisons behind docs/performance.md.
bench: build
	$(GO) test -tags $(TAGS) -run='^$$' -bench=. -benchmem -count=5 ./ingest ./tracker/... ./portal ./seedbox/...
	SEEDBED_BENCH=1 $(GO) test -tags $(TAGS) -run='^TestBench' -v -timeout 60m ./e2e
	SEEDBED_BENCH=1 $(GO) test -tags $(TAGS) -run='^TestBenchBrowseSearch$$' -v -timeout 60m ./catalog
	bench/tracker.sh

clean:
	rm -rf bin
