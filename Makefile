# gpack's build. `make demo` is the newcomer's first command, `make test`
# the second (both install what they need; run them as root or with sudo).

GO      ?= go
BIN     := bin
LDFLAGS := -s -w
export CGO_ENABLED := 0

.PHONY: all build install deps deps-test test test-short fuzz bench lint demo clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gpack ./cmd/gpack

install:
	$(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/gpack

deps:
	scripts/deps.sh

# deps, and Apptainer (built from source once), which only tests use.
deps-test:
	scripts/deps.sh --apptainer

# The tests build test stores with gcc, run
# programs as an unprivileged user and use the real /nix/store: run as root.
test: deps-test lint
	$(GO) test -count=1 -timeout 25m ./...
	$(MAKE) fuzz FUZZTIME=10s

test-short:
	$(GO) test -short -count=1 ./...

FUZZTIME ?= 1m
# A budget is a time or a number of inputs (Nx). FuzzWrite, FuzzRoundTrip and
# the FuzzEncodes run for a number of inputs: a slow input (xz, 1 MiB blocks) still running
# at a time limit makes go test report "context deadline exceeded" and fail.
SQUASHFS_FUZZ ?= 5000x
COMPRESS_FUZZ ?= 1000x
LZMA_FUZZ ?= 300x
SYSPKG_FUZZ ?= 2000x
# Every fuzz target of the module, as DIR:TARGET:BUDGET. internal/meta's
# TestFuzzTargetsListed fails when a Fuzz function is missing here.
FUZZ_TARGETS := \
	./closure/:FuzzScan:$(FUZZTIME) \
	./cmd/gpack/:FuzzParseProfileManifest:$(FUZZTIME) \
	./formats/:FuzzCompression:$(FUZZTIME) \
	./formats/compress/:FuzzPipeline:$(FUZZTIME) \
	./formats/compress/:FuzzRoundTrip:$(COMPRESS_FUZZ) \
	./formats/deb/:FuzzWrite:$(SYSPKG_FUZZ) \
	./formats/rpm/:FuzzWrite:$(SYSPKG_FUZZ) \
	./formats/squashfs/:FuzzWrite:$(SQUASHFS_FUZZ) \
	./formats/squashfs/:FuzzRead:$(FUZZTIME) \
	./internal/deflate/:FuzzEncode:$(COMPRESS_FUZZ) \
	./internal/lzma/:FuzzEncode:$(LZMA_FUZZ) \
	./internal/zstd/:FuzzRoundTrip:$(COMPRESS_FUZZ) \
	./formats/appimage/layout/:FuzzRead:$(FUZZTIME) \
	./launcher/contract/:FuzzParseManifest:$(FUZZTIME) \
	./pack/:FuzzParseEtcProfile:$(FUZZTIME)
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		dir=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
		echo "fuzz $$dir $$name $$budget"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime "$$budget" -fuzzminimizetime 200x "$$dir"; \
	done

bench: deps build
	bench/run.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: deps build
	scripts/demo.sh

clean:
	rm -rf $(BIN)
