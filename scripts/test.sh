#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh --test), then runs every test of the project:
# formatting, clippy for native and wasm32, the workspace's cargo tests (GPU kernels on a real
# adapter: lavapipe where there is no GPU), the release web build, and the browser end-to-end
# suite in headless Chromium and Firefox ESR. Stops at the first failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh --test
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Vulkan loaders and Chromium warn when this is unset; a private one keeps them quiet.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d)
  export XDG_RUNTIME_DIR
fi

# Crates that are built for the browser (the CLI is native only).
wasm_crates=(-p vae-gpu -p vae-reference -p vae-app)

step() {
  printf '\n\033[1m== %s\033[0m\n' "$1"
  shift
  "$@"
}

step "cargo fmt --check" cargo fmt --all --check
step "clippy (native)" cargo clippy --workspace --all-targets --locked -- -D warnings
step "clippy (wasm32)" cargo clippy "${wasm_crates[@]}" --target wasm32-unknown-unknown --locked -- -D warnings
step "cargo test (GPU tests on a real adapter)" cargo test --workspace --locked
step "checkpoint round trip (vae CLI and a numpy reader)" scripts/roundtrip.sh
step "trunk build --release" trunk build --release
step "browser end-to-end (puppeteer-core: Chromium and Firefox ESR)" node --test e2e/
