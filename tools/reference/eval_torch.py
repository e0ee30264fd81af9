"""A `vae train` checkpoint (or any state dict in safetensors) evaluated by the PyTorch model:
the test −ELBO of binarized MNIST, averaged over K draws of ε. The other half of the round trip:
`train_torch.py --save model.safetensors` then `vae eval model.safetensors --data ../shared/mnist`.

    python tools/reference/eval_torch.py vae.safetensors --data ../shared/mnist --samples 10
"""
import argparse

import numpy as np
import torch
from safetensors.torch import load_file

from train_torch import evaluate, find, load_amat
from vae_torch import VAE


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--data", default="../shared/mnist")
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    state = load_file(args.checkpoint)
    hidden, input_size = state["encoder.enc1.weight"].shape
    latent = state["encoder.mean_x.weight"].shape[0]
    model = VAE(input_size, hidden, latent)
    model.load_state_dict(state)  # strict; the optimizer's tensors are set aside by VAE
    test = torch.from_numpy(load_amat(find(args.data, "test")))
    generator = torch.Generator().manual_seed(args.seed)
    draws = np.array([evaluate(model, test, 128, generator) for _ in range(args.samples)])
    mean = draws.mean(axis=0)
    spread = ""
    if args.samples > 1:
        spread = f" ± {draws[:, 0].std(ddof=1) / np.sqrt(args.samples):.3f} (standard error over {args.samples} draws)"
    print(f"{args.checkpoint}: PyTorch test −ELBO {mean[0]:.3f}{spread} = BCE {mean[1]:.3f} + KL {mean[2]:.3f}")


if __name__ == "__main__":
    main()
