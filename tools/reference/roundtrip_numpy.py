"""The checkpoint round trip with a light, independent reader: numpy and the `safetensors`
package, no torch (CI runs this; PyTorch's own round trip is `eval_torch.py`).

    python roundtrip_numpy.py evaluate CHECKPOINT --data FOLDER
        The test −ELBO of a checkpoint on binarized MNIST `.amat` files, with the engine's own
        evaluation noise mirrored (draw 0 of `vae eval`), so the two agree to float precision.
    python roundtrip_numpy.py perturb CHECKPOINT OUT --seed S [--as-torch] [--dtype float16]
        Writes a plain state dict (PyTorch's names and layout, no optimizer tensors) of the
        checkpoint's parameters plus seeded noise: a model made by another program. --as-torch adds
        the metadata `safetensors.torch.save_file(..., metadata={"format": "pt"})` writes; --dtype
        stores the tensors in half precision, as compact checkpoints do.
"""
import argparse
import gzip
import json
import os

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from engine_mirror import batch_noise

# shaders/advance_step.wgsl + crates/vae-gpu/src/vae/evaluation.rs: an evaluation's batch k draws
# its ε with step key EVALUATION_STEP_BASE + k + 1 (draw 0).
EVALUATION_STEP_BASE = 0x80000000
NAMES = [
    "encoder.enc1.weight", "encoder.enc1.bias", "encoder.mean_x.weight", "encoder.mean_x.bias",
    "encoder.logvar_x.weight", "encoder.logvar_x.bias", "decoder.dec1.weight", "decoder.dec1.bias",
    "decoder.out.weight", "decoder.out.bias",
]


def read(path):
    """(parameters as float64 arrays, metadata dict or {})"""
    with open(path, "rb") as f:
        raw = f.read()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + length])
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata() or {}
        params = {}
        for name in NAMES:
            if header[name]["dtype"] == "BF16":
                # numpy has no bfloat16: its bits are the top half of a float32's.
                begin, end = header[name]["data_offsets"]
                data = raw[8 + length + begin:8 + length + end]
                bits = np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16
                tensor = bits.view(np.float32).reshape(header[name]["shape"])
            else:
                tensor = f.get_tensor(name)
            params[name] = tensor.astype(np.float64)
    return params, meta


def load_amat(folder, part):
    for ext in ("amat", "amat.gz"):
        path = os.path.join(folder, f"binarized_mnist_{part}.{ext}")
        if os.path.exists(path):
            opener = gzip.open if ext.endswith("gz") else open
            with opener(path, "rt") as f:
                return np.loadtxt(f, dtype=np.float64, ndmin=2)
    raise SystemExit(f"{folder}: no binarized_mnist_{part}.amat[.gz]")


def encode(p, x):
    """The posterior's (mean, logvar) for images `x` [n, input]."""
    h = np.maximum(x @ p["encoder.enc1.weight"].T + p["encoder.enc1.bias"], 0)
    return h @ p["encoder.mean_x.weight"].T + p["encoder.mean_x.bias"], h @ p["encoder.logvar_x.weight"].T + p["encoder.logvar_x.bias"]


def bce_of_decoded(p, z, x):
    """Per-row BCE with logits summed over pixels, of the decoder at `z` [n, latent] against `x`, in the
    stable form max(l, 0) − l·x + log(1 + e^−|l|)."""
    h2 = np.maximum(z @ p["decoder.dec1.weight"].T + p["decoder.dec1.bias"], 0)
    logits = h2 @ p["decoder.out.weight"].T + p["decoder.out.bias"]
    return (np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))).sum(axis=1)


def neg_elbo_rows(p, x, eps):
    """Per-image (bce, kl) of the model at `p` on images `x` with noise `eps`."""
    mean, logvar = encode(p, x)
    bce = bce_of_decoded(p, mean + np.exp(0.5 * logvar) * eps, x)
    kl = -0.5 * (1 + logvar - mean**2 - np.exp(logvar)).sum(axis=1)
    return bce, kl


def setting(meta, key, default):
    """Our metadata: `vae-lab.KEY`, or plain KEY in checkpoints of the earlier layout
    (`format: vae-lab/1`); anything else (another program's file) gets the engine's default."""
    if f"vae-lab.{key}" in meta:
        return meta[f"vae-lab.{key}"]
    if meta.get("format") == "vae-lab/1":
        return meta.get(key, default)
    return default


def evaluate(path, folder):
    params, meta = read(path)
    # A plain state dict gets the engine's defaults: seed 0, batch 128.
    seed = int(setting(meta, "seed", 0))
    batch = int(setting(meta, "batch", 128))
    x = load_amat(folder, "test")
    batch = min(batch, len(x))
    latent = params["encoder.mean_x.weight"].shape[0]
    bce_total = kl_total = 0.0
    for k, start in enumerate(range(0, len(x), batch)):
        xb = x[start:start + batch]
        eps = batch_noise(seed, EVALUATION_STEP_BASE + k + 1, len(xb), latent)
        bce, kl = neg_elbo_rows(params, xb, eps)
        bce_total, kl_total = bce_total + bce.sum(), kl_total + kl.sum()
    n = len(x)
    print(f"{(bce_total + kl_total) / n:.4f} {bce_total / n:.4f} {kl_total / n:.4f}")


def perturb(path, out, seed, as_torch, dtype):
    params, _ = read(path)
    rng = np.random.default_rng(seed)
    plain = {name: (value + 0.01 * rng.standard_normal(value.shape)).astype(dtype) for name, value in params.items()}
    save_file(plain, out, metadata={"format": "pt"} if as_torch else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    e = commands.add_parser("evaluate")
    e.add_argument("checkpoint")
    e.add_argument("--data", required=True)
    p = commands.add_parser("perturb")
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--as-torch", action="store_true")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    args = parser.parse_args()
    if args.command == "evaluate":
        evaluate(args.checkpoint, args.data)
    else:
        perturb(args.checkpoint, args.out, args.seed, args.as_torch, np.dtype(args.dtype))


if __name__ == "__main__":
    main()
