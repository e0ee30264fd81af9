#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of everything the lab reads from outside: the
# shard, checkpoints, link fragments, the settings form, a stored curve, NumPy arrays and IDX
# files and zip archives of the visitor's own images. Not part of CI (it needs
# the nightly toolchain); CI replays the corpora instead (crates/vae-fuzz/tests/corpora.rs).
#
#   scripts/fuzz.sh [--time SECONDS | --runs N] [--minimize] [TARGET...]
#
# Each target runs for SECONDS (default 60) or N executions, from fuzz/corpus/TARGET (seeded by
# scripts/fuzz-seeds.py and the shard loader's test corpus), with a 1 s limit per input and a
# 64 MB limit per allocation: inputs are at most 16 kB, so anything larger is an allocation out of
# proportion to its input. --minimize then shrinks each corpus (cargo fuzz cmin) for committing.
# Crashes are left in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

limit=(-max_total_time=60)
minimize=false
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    --minimize) minimize=true; shift ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  targets=(shard checkpoint fragment settings saved_curve npy idx archive)
fi

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzzing needs a nightly toolchain (rustup toolchain install nightly)" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

python3 scripts/fuzz-seeds.py fuzz/corpus
mkdir -p fuzz/corpus/shard
cp -n crates/mnist-shard/tests/corpus/* fuzz/corpus/shard/

for target in "${targets[@]}"; do
  printf '\n\033[1m== fuzz %s\033[0m\n' "$target"
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
    "${limit[@]}" -timeout=1 -max_len=16384 -malloc_limit_mb=64 -rss_limit_mb=2048 \
    -print_final_stats=1
  if $minimize; then
    cargo +nightly fuzz cmin "$target" "fuzz/corpus/$target" -- -max_len=16384
  fi
done
