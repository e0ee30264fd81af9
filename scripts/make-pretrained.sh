#!/usr/bin/env bash
# Makes web/pretrained.safetensors, the model the page opens with, from nothing but this repo:
# 30 epochs of `vae train` on the bundled shard at the classic settings (seed 0), 5 more at a
# learning rate of 3e-4, then `vae export` to BF16 (1.6 MB, 1.3 MB gzipped), scored on the
# bundled test set over 10 draws of ε and by the importance-weighted bound with K = 5,000 (both
# figures are recorded in the file). About 10 minutes of training on lavapipe on 2 cores, and
# about 30 more for the bound (50 million decoder rows); the runs are seeded, and on the same
# adapter they repeat exactly.
# The per-epoch curve goes to docs/results/pretrained-curve.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vae=(cargo run --release --locked --quiet -p vae-cli --)
"${vae[@]}" train --epochs 30 --seed 0 --checkpoint "$work/model.safetensors" --json "$work/first.json"
"${vae[@]}" train --resume "$work/model.safetensors" --lr 3e-4 --epochs 35 \
  --checkpoint "$work/model.safetensors" --json "$work/second.json"
"${vae[@]}" export "$work/model.safetensors" --out web/pretrained.safetensors --dtype bf16 \
  --samples 10 --iw-samples 5000 --note "epochs 1-30 at lr 0.001, 31-35 at 0.0003"
python3 - "$work/first.json" "$work/second.json" docs/results/pretrained-curve.json <<'PY'
import json, sys
first, second = (json.load(open(path)) for path in sys.argv[1:3])
first["epochs"] += second["epochs"]
first["lr"] = "0.001 for epochs 1-30, 0.0003 for 31-35"
json.dump(first, open(sys.argv[3], "w"), indent=2)
PY
