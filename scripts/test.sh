#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian machine: installs what the tests need (only what
# is missing, so a second run installs nothing), builds once in release, then runs formatting and
# lint checks, the Rust tests and the browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# --- system packages --------------------------------------------------------------------------
# chromium: the browser tests; firefox-esr: the same class in Firefox (xvfb: a windowed Firefox
# for its screen share, which headless Firefox refuses); cmake, clang, pkg-config: building aws-lc
# (str0m's DTLS/SRTP crypto); libopus-dev: the load generator encodes real Opus frames; janus: the
# load generator's side-by-side target (its test starts a real Janus VideoRoom; a C compiler, cc,
# builds its loopback shim); coturn: the relay test starts a real turnserver; nftables: the TCP-only
# test drops UDP inside a network namespace it creates.
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || need_apt+=(firefox-esr)
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
dpkg -s libopus-dev >/dev/null 2>&1 || need_apt+=(libopus-dev)
dpkg -s janus >/dev/null 2>&1 || need_apt+=(janus)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v turnserver >/dev/null 2>&1 || need_apt+=(coturn)
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# --- npm packages for the browser tests (into web-client/node_modules) --------------------------
# playwright-core drives Chromium, puppeteer-core Firefox (WebDriver BiDi); both drive the Debian
# browsers above, so neither may download a browser of its own.
if [ ! -d web-client/node_modules/playwright-core ] || [ ! -d web-client/node_modules/puppeteer-core ]; then
  step "installing npm packages"
  (cd web-client && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# --- Rust components ----------------------------------------------------------------------------
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

# A release build of the workspace with its tests takes about 6 GB under target/. Say so up front
# when the disk is short, instead of failing later inside the linker with "No space left on device".
needed_kib=$((7 * 1024 * 1024))
free_kib=$(df -Pk . | awk 'NR == 2 { print $4 }')
if [ ! -d target/release ] && [ "${free_kib:-0}" -lt "$needed_kib" ]; then
  echo "warning: $((free_kib / 1024 / 1024)) GiB free here; a fresh build and test run needs about 7 GiB" >&2
fi

step "format"
cargo fmt --all -- --check

step "build (release, once)"
cargo build --release --workspace --all-targets --locked

step "lint"
cargo clippy --release --workspace --all-targets --locked -- -D warnings

step "rust tests"
cargo test --release --workspace --locked

step "benchmark smoke (each criterion bench once; the real runs: cargo bench -p benches)"
# Built as tests, with the release artifacts above: `cargo bench` would rebuild everything in its
# own profile.
cargo test --release -p benches --benches --locked

step "browser tests (Chromium, and Firefox)"
(cd web-client && CLASSROOM_BIN="$PWD/../target/release/classroom" node --test tests/)
