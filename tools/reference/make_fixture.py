"""Writes the PyTorch parity fixture that crates/vae-model/src/conformance.rs checks both engines against.

The article's model on the CPU in float64, with our seeded initialisation (seed 3), the first
4 test images of web/mnist.shard.gz and the engine's own noise for step 1: the loss, BCE and KL,
every parameter gradient, and every parameter after one torch.optim.Adam step (lr 1e-3).

Regenerate (PyTorch from PyPI, CPU is enough):
    python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch numpy safetensors
    /tmp/torch/bin/python tools/reference/make_fixture.py
"""
import pathlib

import numpy as np
import torch
from safetensors.torch import save_file

from vae_torch import VAE, batch_noise, init_state_dict, load_shard

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED, STEP, BATCH = 3, 1, 4


def main():
    torch.use_deterministic_algorithms(True)
    model = VAE().double()
    model.load_state_dict({k: v.double() for k, v in init_state_dict(SEED).items()})
    _, _, test_images, _ = load_shard(str(ROOT / "web" / "mnist.shard.gz"))
    x = torch.from_numpy(test_images[:BATCH]).double()
    eps = torch.from_numpy(batch_noise(SEED, STEP, BATCH, 20))

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    optimizer.zero_grad()
    loss, bce, kl = model.loss(x, eps)
    loss.backward()
    tensors = {
        "x": x.float(),
        "eps": eps.float(),
        "loss": loss.detach().reshape(1).float(),
        "bce": bce.detach().reshape(1).float(),
        "kl": kl.detach().reshape(1).float(),
    }
    for name, p in model.named_parameters():
        tensors[f"grad.{name}"] = p.grad.detach().float()
    optimizer.step()
    for name, p in model.named_parameters():
        tensors[f"after_adam.{name}"] = p.detach().float()
    # The float64 loss, exactly, for the 1e-5 relative check.
    tensors["loss_f64"] = loss.detach().reshape(1)
    out = ROOT / "crates" / "vae-gpu" / "tests" / "fixtures" / "pytorch_step.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out),
              metadata={"torch": torch.__version__, "seed": str(SEED), "step": str(STEP)})
    print(f"wrote {out.relative_to(ROOT)}: loss {loss.item():.6f} (bce {bce.item():.6f}, kl {kl.item():.6f}), torch {torch.__version__}")


if __name__ == "__main__":
    main()
