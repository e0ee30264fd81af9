#!/usr/bin/env bash
# The checkpoint round trip, with a light independent reader (numpy + safetensors, no torch):
#   1. `vae train` makes a checkpoint on a slice of the standard binarized MNIST;
#   2. tools/reference/roundtrip_numpy.py reads it and computes the test −ELBO with the engine's
#      evaluation noise mirrored, which must equal `vae eval`'s;
#   3. the reader writes plain state dicts (another program's model): one as it is, one as
#      `safetensors.torch.save_file(..., metadata={"format": "pt"})` writes it in float16; `vae eval`
#      must read each and score it as the reader does;
#   4. `vae eval --iw-samples 16`, on the GPU and on the CPU engine, must give the importance-weighted
#      bound tools/reference/likelihood_numpy.py computes with the same draws (within 0.05 nat).
# Run by scripts/test.sh after `cargo test` (which builds target/debug/vae). Needs the venv that
# `scripts/setup.sh --test` makes, and the binarized MNIST in ../shared/mnist (or MNIST_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${VAE_LAB_PYTHON:-${CARGO_HOME:-$HOME/.cargo}/vae-lab-tools/python/bin/python}
mnist=${MNIST_DIR:-../shared/mnist}
vae=target/debug/vae
[ -x "$vae" ] || cargo build --quiet --locked -p vae-cli
"$python" -c "import numpy, safetensors" || {
  echo "roundtrip: $python lacks numpy or safetensors: run scripts/setup.sh --test" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The first 2,000 training and 500 test images of the standard files.
for part in train:2000 test:500; do
  name=${part%%:*}
  # head closes the pipe early: gzip's SIGPIPE is expected.
  { gzip -dc "$mnist/binarized_mnist_$name.amat.gz" || true; } | head -n "${part##*:}" >"$work/binarized_mnist_$name.amat"
done

"$vae" train --data "$work" --epochs 1 --batch 32 --hidden 64 --latent 8 --seed 3 \
  --checkpoint "$work/model.safetensors" >/dev/null 2>&1
"$python" tools/reference/roundtrip_numpy.py perturb "$work/model.safetensors" "$work/plain.safetensors" --seed 7
"$python" tools/reference/roundtrip_numpy.py perturb "$work/model.safetensors" "$work/torch-f16.safetensors" --seed 8 \
  --as-torch --dtype float16

ours() { "$vae" eval "$1" --data "$work" | sed -n 's/.*test −ELBO \([0-9.]*\) .*/\1/p'; }
theirs() { (cd tools/reference && "$python" roundtrip_numpy.py evaluate "$1" --data "$work") | cut -d' ' -f1; }
status=0
for checkpoint in "$work/model.safetensors" "$work/plain.safetensors" "$work/torch-f16.safetensors"; do
  a=$(ours "$checkpoint")
  b=$(theirs "$checkpoint")
  verdict=$("$python" -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('ok' if abs(a - b) <= 1e-3 + 1e-5 * abs(a) else 'DIFFERENT')" "$a" "$b")
  echo "$(basename "$checkpoint"): vae eval $a, numpy reader $b nats: $verdict"
  [ "$verdict" = ok ] || status=1
done
iw() { "$vae" eval "$work/model.safetensors" --data "$work" --iw-samples 16 --test-images 100 "$@" |
  sed -n 's/.*−L_16 = \([0-9.]*\) ±.*/\1/p'; }
b=$(cd tools/reference && "$python" likelihood_numpy.py "$work/model.safetensors" --data "$work" --samples 16 --images 100 | cut -d' ' -f1)
for backend in gpu cpu; do
  a=$(if [ $backend = cpu ]; then iw --backend cpu; else iw; fi)
  verdict=$("$python" -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('ok' if abs(a - b) <= 0.05 else 'DIFFERENT')" "$a" "$b")
  echo "−L_16 on 100 test images: vae eval ($backend) $a, numpy reader $b nats: $verdict"
  [ "$verdict" = ok ] || status=1
done
exit $status
