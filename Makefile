# The two commands of README.md: `make run` and `make test`. Both install
# what is missing first (scripts/setup.sh), so they work on a bare machine.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
# cargo-leptos sets this while building; setting it for plain cargo too
# lets `cargo test` reuse the build instead of compiling everything again.
export LEPTOS_OUTPUT_NAME := portcullis

.PHONY: run test test-postgres build release setup-run setup-test fuzz

setup-run:
	@scripts/setup.sh run

setup-test:
	@scripts/setup.sh test

## Build (release) and start the registry and portal on http://127.0.0.1:5000
run: setup-run release
	target/release/portcullis serve

# After each site build: precompressed variants and the hash file beside
# the files (scripts/finish-site.mjs).
release:
	cargo leptos build --release
	node scripts/finish-site.mjs release

build: setup-run
	cargo leptos build
	node scripts/finish-site.mjs debug

## Every test: unit, integration (real server and real clients over HTTP),
## browser (Chromium). `--tests` makes cargo-leptos resolve dependency
## features as `cargo test` does, and one `cargo test` for both crates shares
## that build, so the dependencies compile once.
test: setup-test
	cargo leptos build --bin-cargo-args=--tests
	node scripts/finish-site.mjs debug
	cargo test -p server -p app -p portcullis-cli
	@$(MAKE) --no-print-directory test-postgres CARGO_PACKAGES="-p server -p app -p portcullis-cli"
	cargo test -p portcullis-proto
	node --test --test-concurrency=1 end2end/tests/

## The integration suite again on PostgreSQL (issue 15: the same tests on
## both databases): the `it` binary the line above built, run with every
## test server on a fresh database of a throwaway cluster that
## scripts/postgres.sh starts; the cluster is stopped and removed after.
CARGO_PACKAGES ?= -p server
POSTGRES_CLUSTER = $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/tmp/postgres
test-postgres:
	@it=$$(cargo test $(CARGO_PACKAGES) --no-run --message-format=json 2>/dev/null \
	  | jq -r 'select(.profile.test and .target.name == "it") | .executable'); \
	test -x "$$it" || { echo "no integration test binary (cargo test $(CARGO_PACKAGES) --no-run)"; exit 1; }; \
	echo "integration tests on PostgreSQL: $$it"; \
	(cd server && PORTCULLIS_TEST_DATABASE=postgres "$$it"); status=$$?; \
	scripts/postgres.sh stop "$(POSTGRES_CLUSTER)"; rm -rf "$(POSTGRES_CLUSTER)"; exit $$status

## Fuzz every parser of network and administrator input (docs/FUZZING.md):
## FUZZ_SECONDS each (default 60), FUZZ_TARGETS to choose; non-zero on a crash.
fuzz:
	@scripts/fuzz.sh
