"""The importance-weighted bound L_K on log p(x) (Burda, Grosse & Salakhutdinov 2015) of a checkpoint
on the test images, in numpy alone: an independent check of `vae eval --iw-samples K`.

    python likelihood_numpy.py CHECKPOINT --data FOLDER --samples K [--images N] [--noise mirror|numpy]

CHECKPOINT is one of ours (`vae train`) or a PyTorch state dict saved with safetensors (the names of
tools/reference/vae_torch.py). FOLDER holds binarized_mnist_test.amat[.gz]. Prints −L_K in nats per
image and its standard error over the images.

--noise mirror (the default) draws the engines' own ε (crates/vae-model/src/likelihood.rs: draw 0
is the evaluation's, draw k ≥ 1 is keyed by the image), so the figure must equal the engines' to
float precision; --noise numpy draws its own, so it agrees within the estimate's noise. With one
draw the KL is taken in closed form, as the engines do, so L_1 is the ELBO.

    log w_k = −BCE(x, decoder(z_k)) − ½ Σ_j (z_kj² − ε_kj² − logvar_j),   z_k = mean + e^{½ logvar} ε_k
    L_K     = log (1/K) Σ_k w_k                                               (log-sum-exp)
"""
import argparse

import numpy as np

from engine_mirror import batch_noise
from roundtrip_numpy import EVALUATION_STEP_BASE, bce_of_decoded, encode, load_amat, read, setting

IMPORTANCE_STEP_BASE = 0xC0000000


def mirrored_noise(seed, image, samples, batch, latent):
    """The engines' draws for one image, [samples, latent]."""
    first = batch_noise(seed, EVALUATION_STEP_BASE + image // batch + 1, image % batch + 1, latent)[-1:]
    if samples == 1:
        return first
    rest = batch_noise(seed, (IMPORTANCE_STEP_BASE + image) & 0xFFFFFFFF, samples - 1, latent)
    return np.concatenate([first, rest])


def bound(p, x, eps):
    """L_K of one image `x` [input] with draws `eps` [K, latent]."""
    mean, logvar = encode(p, x)
    z = mean + np.exp(0.5 * logvar) * eps
    bce = bce_of_decoded(p, z, x)
    if len(eps) == 1:
        kl = -0.5 * (1 + logvar - mean**2 - np.exp(logvar)).sum()
        return -(bce[0] + kl)
    log_w = -bce - 0.5 * (z**2 - eps**2 - logvar).sum(axis=1)
    top = log_w.max()
    return top + np.log(np.mean(np.exp(log_w - top)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--data", required=True)
    parser.add_argument("--samples", type=int, required=True)
    parser.add_argument("--images", type=int, help="the first N test images (all by default)")
    parser.add_argument("--noise", choices=["mirror", "numpy"], default="mirror")
    parser.add_argument("--seed", type=int, default=0, help="numpy's seed for --noise numpy")
    args = parser.parse_args()
    if args.samples < 1:
        raise SystemExit("--samples must be at least 1")
    params, meta = read(args.checkpoint)
    x = load_amat(args.data, "test")
    if args.images:
        x = x[:args.images]
    # The engines key draw 0 by the evaluation's batching (a plain state dict: seed 0, batch 128).
    seed = int(setting(meta, "seed", 0))
    batch = min(int(setting(meta, "batch", 128)), len(x))
    latent = params["encoder.mean_x.weight"].shape[0]
    rng = np.random.default_rng(args.seed)
    values = []
    for image, pixels in enumerate(x):
        if args.noise == "mirror":
            eps = mirrored_noise(seed, image, args.samples, batch, latent)
        else:
            eps = rng.standard_normal((args.samples, latent))
        values.append(bound(params, pixels, eps))
    values = np.array(values)
    error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    print(f"{-values.mean():.4f} {error:.4f}")


if __name__ == "__main__":
    main()
