#!/usr/bin/env bash
# The VAE against IWAE (Burda, Grosse & Salakhutdinov 2015) on this machine: the classic model
# trained 10 epochs from seed 0 on the fixed binarized MNIST (50,000 training images) with
# K = 1 (the VAE), 5 and 50 draws per image, each scored on the 10,000 test images by its test
# −ELBO and by the importance-weighted bound −L_5000; the time per step from each run's own
# training time. On the CPU engine, one thread (`--backend gpu` to time the GPU instead):
# about 25 minutes of training and 40 of scoring on the 2-core VM. Curves and figures go to
# docs/results/iwae-k{1,5,50}.json and docs/results/iwae-k*.eval.txt.
# Usage: scripts/iwae-bench.sh [DATA] [BACKEND]   (defaults: ../shared/mnist, cpu)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data=${1:-../shared/mnist}
backend=${2:-cpu}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --locked --quiet -p vae-cli
vae=target/release/vae
for k in 1 5 50; do
  "$vae" train --data "$data" --epochs 10 --seed 0 --iw-samples "$k" --backend "$backend" \
    --checkpoint "$work/k$k.safetensors" --json "docs/results/iwae-k$k.json"
  "$vae" eval "$work/k$k.safetensors" --data "$data" --backend "$backend" --iw-samples 5000 \
    | tee "docs/results/iwae-k$k.eval.txt"
done
python3 - <<'PY'
import json, re
print("| objective | test −ELBO | test −L_5000 | time per step |")
print("|---|---|---|---|")
for k in (1, 5, 50):
    run = json.load(open(f"docs/results/iwae-k{k}.json"))
    last = run["epochs"][-1]
    text = open(f"docs/results/iwae-k{k}.eval.txt").read()
    bound = re.search(r"−L_5000 = ([0-9.]+) ± ([0-9.]+)", text)
    name = "VAE (K = 1)" if k == 1 else f"IWAE, K = {k}"
    ms = 1000 * last["train_seconds"] / last["step"]
    print(f"| {name} | {last['test_neg_elbo']:.2f} | {bound.group(1)} ± {bound.group(2)} | {ms:.1f} ms |")
PY
