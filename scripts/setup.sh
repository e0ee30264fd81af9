#!/usr/bin/env bash
# Installs what the VAE lab needs and is missing; safe to re-run (each step checks first).
#
#   scripts/setup.sh          what `trunk serve` needs: the wasm32 target, trunk, wasm-bindgen-cli
#                             (the version in Cargo.lock), wasm-opt (binaryen 132 from npm)
#   scripts/setup.sh --test   also what the tests need: Chromium, Firefox ESR and lavapipe
#                             (mesa-vulkan-drivers) from Debian, puppeteer-core from npm
#                             (package-lock.json; it drives both browsers and downloads none),
#                             numpy and safetensors from PyPI in a venv (the checkpoint round trip)
#
# Every tool comes from a package registry (crates.io, npm, Debian): nothing downloads binaries
# from elsewhere. Where it cannot install (not root, not Debian, no Rust or Node), it prints what
# to install and exits non-zero.
set -euo pipefail

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132.0.0
DEBIAN_TEST_PACKAGES=(chromium firefox-esr mesa-vulkan-drivers libvulkan1)

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo_home=${CARGO_HOME:-$HOME/.cargo}
export PATH="$cargo_home/bin:$PATH"

with_test_tools=0
case "${1:-}" in
  --test) with_test_tools=1 ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
cannot() {
  printf 'setup: cannot continue: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}
is_debian_root() { [ "$(id -u)" = 0 ] && have apt-get && [ -f /etc/debian_version ]; }

apt_updated=0
apt_install() {
  if ! is_debian_root; then
    cannot "missing system packages: $*" \
      "On Debian/Ubuntu: sudo apt-get install -y $*" \
      "Elsewhere install the equivalents (Chromium; Firefox ESR; Mesa's Vulkan drivers incl. lavapipe; the Vulkan loader; Node.js with npm), then re-run."
  fi
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
debian_missing() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  echo "${missing[@]:-}"
}

# --- Rust: the toolchain itself is the user's; we add the target and the tools. ---
have cargo && have rustup ||
  cannot "Rust is not installed" "Install rustup (https://rustup.rs), then re-run this script."
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# trunk and wasm-bindgen-cli are compiled (minutes each): both at once, so one's serial stretches
# (build scripts, linking) overlap the other's parallel ones; logs are shown only if one fails.
cargo_installs=()
if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  cargo_installs+=(trunk)
fi
# The CLI must equal the wasm-bindgen crate in Cargo.lock, or the generated JS will not match.
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
[ -n "$wasm_bindgen_version" ] || cannot "no wasm-bindgen entry in Cargo.lock" "Run this script from a checkout of the project."
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen_version" ]; then
  cargo_installs+=(wasm-bindgen-cli)
fi
# Tools that drive a build, not what we ship: trunk's own release profile (fat LTO, one codegen
# unit) spends minutes optimising a program that mostly waits for cargo and wasm-opt. Measured
# here (2 cores): trunk compiled in 5:16 this way against 7-8 minutes with its profile, and
# `trunk build --release` took the same 20 s with either build of the two tools.
tool_profile=(CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0)
install_log_dir=$(mktemp -d)
# A failure elsewhere in this script must not leave a compiler running behind it.
trap 'jobs -p | xargs -r kill 2>/dev/null || true' EXIT
install_pids=()
for tool in "${cargo_installs[@]}"; do
  case "$tool" in
    trunk)
      say "cargo install trunk $TRUNK_VERSION (several minutes on a small machine)"
      env "${tool_profile[@]}" cargo install --locked --quiet trunk --version "$TRUNK_VERSION" >"$install_log_dir/$tool.log" 2>&1 &
      ;;
    wasm-bindgen-cli)
      say "cargo install wasm-bindgen-cli $wasm_bindgen_version"
      # Not --locked: the CLI's own lock file pins a crate version the registry no longer serves.
      env "${tool_profile[@]}" cargo install --quiet wasm-bindgen-cli --version "$wasm_bindgen_version" >"$install_log_dir/$tool.log" 2>&1 &
      ;;
  esac
  install_pids+=("$!:$tool")
done
wait_cargo_installs() {
  local entry failed=0
  for entry in "${install_pids[@]:-}"; do
    [ -n "$entry" ] || continue
    if ! wait "${entry%%:*}"; then
      echo "setup: cargo install ${entry#*:} failed:" >&2
      cat "$install_log_dir/${entry#*:}.log" >&2
      failed=1
    fi
  done
  install_pids=()
  [ "$failed" = 0 ] || cannot "a cargo install failed (its log is above)" "Fix what it names, then re-run."
}

# --- Node.js: wasm-opt comes from npm's binaryen (Debian's wasm-opt 108 emits broken modules). ---
if ! have npm || ! have node; then
  if is_debian_root; then apt_install nodejs npm; else
    cannot "Node.js and npm are missing" "On Debian/Ubuntu: sudo apt-get install -y nodejs npm" "Elsewhere: install Node.js 20 or newer with npm, then re-run."
  fi
fi

wasm_opt_ok() { wasm-opt --version 2>/dev/null | grep -q "^wasm-opt version ${BINARYEN_VERSION%%.*} "; }
if ! wasm_opt_ok; then
  tools="$cargo_home/vae-lab-tools/binaryen-$BINARYEN_VERSION"
  if [ ! -x "$tools/node_modules/.bin/wasm-opt" ]; then
    say "npm install binaryen@$BINARYEN_VERSION into $tools"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "binaryen@$BINARYEN_VERSION"
  fi
  # Linked beside trunk in cargo's bin folder, so a plain `trunk serve` finds it on PATH.
  ln -sf "$tools/node_modules/.bin/wasm-opt" "$cargo_home/bin/wasm-opt"
  hash -r
  wasm_opt_ok || cannot "another wasm-opt comes first on PATH: $(command -v wasm-opt) ($(wasm-opt --version 2>&1 | head -1))" \
    "trunk needs binaryen $BINARYEN_VERSION; remove the other one (Debian: apt-get remove binaryen) or put $cargo_home/bin first on PATH."
fi

# trunk builds offline (Trunk.toml), so the crates must already be in cargo's cache.
say "cargo fetch"
cargo fetch --locked --quiet

if [ "$with_test_tools" = 1 ]; then
  missing=$(debian_missing "${DEBIAN_TEST_PACKAGES[@]}")
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086 # a list of package names
    apt_install $missing
  fi
  wanted=$(node -p "require('./package-lock.json').packages['node_modules/puppeteer-core'].version")
  installed=$(node -p "require('./node_modules/puppeteer-core/package.json').version" 2>/dev/null || true)
  if [ "$installed" != "$wanted" ]; then
    say "npm ci (puppeteer-core $wanted; it drives Debian's Chromium and Firefox and downloads no browser)"
    PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  fi
  # The checkpoint round trip's independent reader (scripts/roundtrip.sh): numpy and safetensors
  # from PyPI, in a venv of its own so no system Python is touched.
  venv="$cargo_home/vae-lab-tools/python"
  if ! "$venv/bin/python" -c "import numpy, safetensors" 2>/dev/null; then
    if ! have python3 || ! python3 -c "import venv, ensurepip" 2>/dev/null; then
      if is_debian_root; then apt_install python3 python3-venv; else
        cannot "Python 3 with venv is missing" "On Debian/Ubuntu: sudo apt-get install -y python3 python3-venv" "Elsewhere: install Python 3.9 or newer, then re-run."
      fi
    fi
    say "python venv with numpy and safetensors (tools/reference/requirements-light.txt) in $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tools/reference/requirements-light.txt
  fi
fi

wait_cargo_installs
say "ready"
