# Proofup: `make run` runs the portal, `make test` runs every test. Both install
# what is missing first (skipped when the right version is already there).
SHELL := /bin/bash
.DEFAULT_GOAL := run

TOOLS       := $(CURDIR)/.tools
export PATH := $(TOOLS)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
TRUNK_VERSION := 0.21.14
# The wasm-bindgen CLI must equal the crate version that Cargo.lock locks.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/{getline; gsub(/"/,"",$$3); print $$3}' Cargo.lock)
BINARYEN_VERSION := 132
CARGO_FUZZ_VERSION := 0.13.2
# The browser OIDC client library the cross-origin e2e test signs in with (a relying party we did not write).
OIDC_CLIENT_TS_VERSION := 3.5.0
# How long `make test` runs each fuzz target (seconds).
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := api_json api_query csv_import totp_code
# The API test binaries that run a second time on PostgreSQL (PROOFUP_TEST_ENGINE=postgres: each
# binary starts one throw-away server, each test a fresh database of it). Not hostile/parsers:
# they compare digests of the embedded store's files.
PG_API_TESTS := api applications csv figures groups logs mail methods metrics oidc oidc_tokens policy report reset risk roles security users webhook

.PHONY: run release test setup setup-test ui server test-unit test-e2e clean fuzz fuzz-corpus

## Build the portal and the server, then run it on http://localhost:8080 with data in ./data.
run: release
	./target/release/proofup serve --listen 127.0.0.1:8080 --data-dir ./data

## The release binary with the portal embedded: target/release/proofup (deploy/ has a systemd
## unit and a container file for it).
release: setup ui
	cargo build --release --locked -p proofup

## Install everything and run every test: unit, API, binary smoke test, end-to-end in Chromium.
test: setup setup-test ui
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p proofup-frontend --features admin --all-targets -- -D warnings
	cargo build -p proofup
	cargo test --workspace --no-fail-fast
	PROOFUP_TEST_ENGINE=postgres cargo test -p proofup --no-fail-fast $(addprefix --test ,$(PG_API_TESTS))
	$(MAKE) --no-print-directory fuzz

## Runs each fuzz target for FUZZ_SECONDS (cargo fuzz: libFuzzer, coverage-guided; on stable Rust
## without sanitizers). It starts from the corpus kept in fuzz/corpus/ and writes what it finds to
## target/fuzz-corpus/ (so a run does not change the repository); a crash leaves its input in
## fuzz/artifacts/ and fails the run.
fuzz: setup ui
	@if [ "$$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $(CARGO_FUZZ_VERSION)" ]; then \
	  echo "installing cargo-fuzz $(CARGO_FUZZ_VERSION)"; cargo install --locked cargo-fuzz --version $(CARGO_FUZZ_VERSION); fi
	cargo fuzz build -s none
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/fuzz-corpus/$$t fuzz/corpus/$$t; \
	  if cargo fuzz run -s none $$t target/fuzz-corpus/$$t fuzz/corpus/$$t -- \
	       -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
	       >target/fuzz-$$t.log 2>&1; then \
	    echo "fuzz $$t: $(FUZZ_SECONDS) s, $$(awk '/number_of_executed_units/ {print $$2}' target/fuzz-$$t.log) inputs, no failure"; \
	  else tail -n 40 target/fuzz-$$t.log; echo "fuzz $$t FAILED (input kept in fuzz/artifacts/$$t)"; exit 1; fi; \
	done

## Adds to the corpus kept in the repository the inputs fuzzing found that reach new code.
fuzz-corpus:
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/fuzz-corpus/$$t fuzz/corpus/$$t; \
	  cargo fuzz run -s none $$t fuzz/corpus/$$t target/fuzz-corpus/$$t -- -merge=1 2>&1 | tail -1; \
	done


setup:
	@# webauthn-rs links OpenSSL.
	@if ! pkg-config --exists openssl 2>/dev/null; then \
	  echo "installing libssl-dev, pkg-config"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config >/dev/null; fi
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@if [ "$$(trunk --version 2>/dev/null)" != "trunk $(TRUNK_VERSION)" ]; then \
	  echo "installing trunk $(TRUNK_VERSION)"; cargo install --locked trunk --version $(TRUNK_VERSION); fi
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; cargo install --force wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi
	@if [ "$$(wasm-opt --version 2>/dev/null)" != "wasm-opt version $(BINARYEN_VERSION) (version_$(BINARYEN_VERSION))" ]; then \
	  echo "installing binaryen@$(BINARYEN_VERSION) from npm"; mkdir -p $(TOOLS); \
	  npm install --prefix $(TOOLS) --no-audit --no-fund --silent binaryen@$(BINARYEN_VERSION); fi

## Browser-test tools; Apache with mod_auth_openidc is the independent relying party e2e signs in to;
## PostgreSQL's server binaries for the tests that start their own throw-away database server;
## systemd-analyze checks deploy/proofup.service; aiosmtpd is the real SMTP server the mail tests start.
setup-test:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v oathtool >/dev/null \
	    || ! test -x /usr/sbin/apache2 || ! test -f /usr/lib/apache2/modules/mod_auth_openidc.so \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v systemd-analyze >/dev/null \
	    || ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then \
	  echo "installing chromium, chromedriver, oathtool, apache2, libapache2-mod-auth-openidc, postgresql, systemd, python3-aiosmtpd"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver oathtool \
	    apache2 libapache2-mod-auth-openidc postgresql systemd python3-aiosmtpd >/dev/null; fi
	@if ! grep -qs '"version": "$(OIDC_CLIENT_TS_VERSION)"' $(TOOLS)/node_modules/oidc-client-ts/package.json; then \
	  echo "installing oidc-client-ts@$(OIDC_CLIENT_TS_VERSION) from npm"; mkdir -p $(TOOLS); \
	  npm install --prefix $(TOOLS) --no-audit --no-fund --silent oidc-client-ts@$(OIDC_CLIENT_TS_VERSION); fi

## The portal (frontend/dist), embedded into the server at its next build: the everyday bundle
## (index.html) and the administrators' bundle (admin.html, every page); see shared/src/portal.rs.
ui: setup
	trunk build --release
	sed 's/data-bin="proofup-frontend"/& data-cargo-features="admin"/' frontend/index.html >frontend/admin.html
	trunk build --release=true --dist frontend/dist-admin frontend/admin.html
	mv frontend/dist-admin/index.html frontend/dist/admin.html
	cp frontend/dist-admin/* frontend/dist/
	rm -rf frontend/dist-admin

clean:
	cargo clean
	rm -rf frontend/dist frontend/dist-admin
