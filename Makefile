# Rounds — two commands on a fresh Debian 12 machine:
#   make demo   set up, build, start the sandbox clinic and open the Rounds window
#   make test   set up, build and run every check and test (what CI runs)
# Everything installs what it needs itself; run as root or with sudo available.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
TAURI_DRIVER := $(CARGO_BIN)/tauri-driver
STAMP := target/.stamps

# Debian packages: build (WebKitGTK 4.1 + friends) and headless test tools.
APT_BUILD := build-essential pkg-config curl file libssl-dev libwebkit2gtk-4.1-dev \
  libsoup-3.0-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev libdbus-1-dev
APT_TEST := chromium chromium-driver xvfb xauth imagemagick x11-utils xdotool webkit2gtk-driver gnome-keyring dbus \
  dbus-x11 libsecret-tools keyutils at-spi2-core openssl

.PHONY: help setup setup-apt setup-node setup-interop setup-driver ui build bindings lint test test-rust \
  test-ui test-e2e test-package demo deb package clean

help:
	@echo "make demo   - set up, build, start the sandbox clinic and launch Rounds"
	@echo "make test   - set up, build, lint and run every test (CI runs this)"
	@echo "make build  - build the UI, the app (debug), the sandbox and rounds-cli"
	@echo "make bindings - regenerate ui/src/lib/bindings.ts from the Rust types"
	@echo "make package - release build, .deb (app + rounds-cli + policy schema) and its check"

setup: setup-apt setup-node setup-driver

# Installs only the packages that are missing, so a warm machine pays ~1 s.
setup-apt:
	@missing=$$(for p in $(APT_BUILD) $(APT_TEST); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing $$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

setup-node: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Node.js >= 20.19 is required (found "+process.version+")"); process.exit(1) }'
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The stock clinic of the interop suites (tests/interop: oidc-provider + Medplum FHIR), its own
# npm project with exact versions; ~5 s from the registry, then a stamp.
setup-interop: tests/interop/node_modules/.package-lock.json
tests/interop/node_modules/.package-lock.json: tests/interop/package.json tests/interop/package-lock.json | setup-node
	npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error
	@touch $@

setup-driver: $(TAURI_DRIVER)
$(TAURI_DRIVER):
	cargo install tauri-driver --version ^2 --locked

# Rebuild the bundle only when its sources change: the shell embeds ui/dist and recompiles
# whenever it is rewritten (3 s in debug, ~2.5 min in release).
UI_SRC := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.ts \
  ui/tsconfig.json package.json package-lock.json
ui: setup-node ui/dist/index.html
ui/dist/index.html: $(UI_SRC)
	npm run --silent build

build: setup ui
	cargo build -p rounds -p rounds-sandbox -p rounds-cli

bindings: setup ui
	UPDATE_BINDINGS=1 cargo test -p rounds --lib typescript_bindings_are_current
	@echo "ui/src/lib/bindings.ts regenerated"

lint: setup ui
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	npm run --silent check

test-rust: build setup-interop
	cargo test --workspace --exclude rounds-e2e

test-ui: setup-node
	npm run --silent test

# The real window: tauri-driver + WebKitWebDriver under a private Xvfb and D-Bus session.
test-e2e: build setup-driver setup-interop
	env -u DISPLAY cargo test -p rounds-e2e -- --test-threads=1 --nocapture

test: lint test-rust test-ui test-e2e test-package
	@echo "All checks passed. Screenshots: target/e2e/"

demo: build
	scripts/demo.sh

# Managed install (issue 5). The .deb ships the app, rounds-cli, the policy schema, an example
# policy and the IT guide; bundle.linux.deb in tauri.conf.json lists the extra files.
TAURI_CLI := TAURI_APP_PATH=src-tauri npx --yes @tauri-apps/cli@2.12.5
DEB_NAME = Rounds_$(shell sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)_amd64.deb

# Release .deb: target/release/bundle/deb/. The app binary carries rounds-cli (`rounds --cli`);
# the package's /usr/bin/rounds-cli is packaging/rounds-cli, which runs it.
deb: setup ui
	cargo build --release -p rounds
	$(TAURI_CLI) bundle --bundles deb
	scripts/deb-xz.sh target/release/bundle/deb/$(DEB_NAME)

package: deb
	tests/package/check-deb.sh target/release/bundle/deb/$(DEB_NAME)
	cd target/release/bundle/deb && sha256sum $(DEB_NAME) > $(DEB_NAME).sha256
	@echo "Package: target/release/bundle/deb/$(DEB_NAME) (+ .sha256). IT guide: docs/it-deployment.md"

# CI checks a debug .deb: `tauri bundle` packs the binaries `make build` made (no second
# compile); --no-binary-patching leaves target/debug/rounds as the e2e tests run it. Then the
# Group Policy / macOS templates must match the policy schema (regenerate: the script, no flag).
test-package: build
	$(TAURI_CLI) bundle --debug --bundles deb --no-binary-patching
	tests/package/check-deb.sh target/debug/bundle/deb/$(DEB_NAME)
	node scripts/admin-templates.mjs --check

clean:
	cargo clean
	rm -rf node_modules tests/interop/node_modules ui/dist .demo
