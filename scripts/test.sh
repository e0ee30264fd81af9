#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh --test), then runs every test of the project:
# formatting, clippy for native and wasm32, the workspace's cargo tests (GPU kernels on a real
# adapter: lavapipe where there is no GPU), the checkpoint round trip, the release web build, and
# the browser end-to-end suite in headless Chromium and Firefox ESR. Stops at the first failure,
# and prints how long each step took (also on a failure), so growth is seen early. The web build
# runs beside the native steps (two cores: one is often idle in them).
#
# Each build is done once: clippy lints the workspace's crates while they are compiled for the
# tests (natively) and for the page (wasm32, by trunk), with clippy-driver as cargo's wrapper for
# workspace members only, rather than in separate `cargo clippy` passes that check every crate
# again without producing anything. The lints and `-D warnings` are clippy's own.
#
#   E2E_BROWSERS=chromium scripts/test.sh   the browser suite in one browser only
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

timings=()
current=""
started=0
began=$(date +%s)
clock() { date +%s; }
finish_step() {
  [ -n "$current" ] || return 0
  timings+=("$current|$(($(clock) - started))|$1")
  current=""
}
web_pid=""
print_timings() {
  local status=$?
  finish_step "$([ "$status" = 0 ] && echo ok || echo FAILED)"
  # A failure elsewhere must not leave the web build compiling behind it.
  [ -z "$web_pid" ] || kill -- "-$web_pid" 2>/dev/null || true
  [ "${#timings[@]}" -gt 0 ] || return 0
  local total=$(($(clock) - began)) entry name seconds result
  printf '\n\033[1m== time per step\033[0m\n'
  printf '| step | time | result |\n|---|---:|---|\n'
  for entry in "${timings[@]}"; do
    IFS='|' read -r name seconds result <<<"$entry"
    printf '| %s | %d:%02d | %s |\n' "$name" $((seconds / 60)) $((seconds % 60)) "$result"
  done
  printf '| all (wall clock) | %d:%02d | |\n' $((total / 60)) $((total % 60))
}
trap print_timings EXIT
step() {
  finish_step ok
  current=$1
  started=$(clock)
  printf '\n\033[1m== %s\033[0m\n' "$1"
  shift
  "$@"
}

# The web build needs nothing the native steps make, and they leave a core idle much of the time
# (linking, single-threaded LTO, tests waiting on the software GPU): it runs beside them, its
# output kept until they are done.
web_name="clippy (wasm32) + trunk build --release, beside the native steps"
web_log=""
start_web_build() {
  web_log=$(mktemp -d)
  # A session of its own, so that a failure elsewhere can stop trunk and its compilers together.
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c 'start=$(date +%s); status=0
    trunk build --release >"$1/out" 2>&1 || status=$?
    echo "$status $(($(date +%s) - start))" >"$1/done"' web-build "$web_log" &
  web_pid=$!
}
wait_web_build() {
  wait "$web_pid" || true
  web_pid=""
  cat "$web_log/out"
  local status seconds
  read -r status seconds <"$web_log/done"
  timings+=("$web_name|$seconds|$([ "$status" = 0 ] && echo ok || echo FAILED)")
  return "$status"
}

step "installs (scripts/setup.sh --test)" scripts/setup.sh --test
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Vulkan loaders and Chromium warn when this is unset; a private one keeps them quiet.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d)
  export XDG_RUNTIME_DIR
fi

# clippy-driver compiles as rustc does and lints on the way (cargo applies the workspace wrapper to
# the workspace's own crates only; dependencies are built as usual). CLIPPY_ARGS is how
# `cargo clippy -- -D warnings` hands its arguments to the driver.
clippy_driver=$(rustup which clippy-driver)
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

step "cargo fmt --check" cargo fmt --all --check
step "import circles between modules" python3 scripts/module_cycles.py
start_web_build
step "clippy (native) + build of the tests" cargo test --workspace --locked --no-run
step "cargo test (GPU tests on a real adapter)" cargo test --workspace --locked
step "checkpoint round trip (vae CLI and a numpy reader)" scripts/roundtrip.sh
finish_step ok
current="waiting for the web build"
started=$(clock)
printf '\n\033[1m== %s\033[0m\n' "$web_name"
wait_web_build
browsers=${E2E_BROWSERS:-chromium,firefox}
for browser in ${browsers//,/ }; do
  step "browser end-to-end: $browser" env E2E_BROWSERS="$browser" node e2e/run.mjs
done
finish_step ok
