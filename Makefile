# cco-stats — a permanent, exact ledger of your Claude Code usage.
#
#   make run      ingest your Claude Code data and print the daily report
#                 (no data on this machine: the sample month in fixtures/sample, and it says so)
#   make test     the tests (unit, CLI through the real binary, exactly-once); not the root-only ones
#   make test-root  the tests that mount a tmpfs (full and read-only disks): run as root
#   make lint     rustfmt and clippy, warnings are errors
#   make bench    speed and memory figures, and ratios against ccusage when it is found;
#                 watch's idle cost and latency per mode (benches/watch.rs)
#   make fuzz     the property tests of tests/properties.rs with many more cases (FUZZ_CASES)
#   make ccusage  fetch ccusage 20.0.24 from npm into target/ccusage for `make bench`
#   make man      man pages for cco-stats and each command, into target/man
#   make install  install the binary with cargo

CARGO ?= cargo
BIN := target/release/cco-stats
SAMPLE_DB := target/sample.db
CCUSAGE_DIR := target/ccusage
CCUSAGE_VERSION := 20.0.24

FUZZ_CASES ?= 20000

.PHONY: run build test test-root lint bench fuzz ccusage man install clean

build:
	$(CARGO) build --release --locked

run: build
	@if [ -n "$$CLAUDE_CONFIG_DIR" ] || find "$$HOME/.claude/projects" "$${XDG_CONFIG_HOME:-$$HOME/.config}/claude/projects" \
	      -name '*.jsonl' -print -quit 2>/dev/null | grep -q .; then \
	    $(BIN) once && $(BIN) daily --no-ingest; \
	else \
	    echo "No Claude Code data on this machine: here is the sample in fixtures/sample, a made-up month of use (November 2026, fixed dates; ledger: $(SAMPLE_DB))."; \
	    fixtures/sample/run.sh $(BIN) $(SAMPLE_DB); \
	fi

test:
	$(CARGO) test --locked

# Left out of `make test` (#[ignore]): mounting needs root. CI runs as root and runs them.
test-root:
	$(CARGO) test --locked --test hardening -- --ignored

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

bench:
	@if [ -z "$$CCUSAGE_BIN" ] && [ -x "$(CCUSAGE_DIR)/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage" ]; then \
	    export CCUSAGE_BIN="$(CURDIR)/$(CCUSAGE_DIR)/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage"; \
	fi; $(CARGO) bench --locked --bench ingest --bench watch --bench codex --bench opencode

fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked --test properties

ccusage:
	mkdir -p $(CCUSAGE_DIR)
	cd $(CCUSAGE_DIR) && npm install --no-save --no-audit --no-fund ccusage@$(CCUSAGE_VERSION)
	chmod +x $(CCUSAGE_DIR)/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage

man: build
	$(BIN) man target/man

install:
	$(CARGO) install --locked --path .

clean:
	$(CARGO) clean
