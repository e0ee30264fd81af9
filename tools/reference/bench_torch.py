"""The same training step in PyTorch on the CPU, timed: the baseline `vae bench` prints a ratio to.

Prints one JSON line: {"ms_per_step": …, "torch": version, "threads": …}.
    python3 tools/reference/bench_torch.py [--batch 128] [--seconds 3]
"""
import argparse
import json
import pathlib
import time

import torch

from vae_torch import VAE, init_state_dict, load_shard

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = VAE()
    model.load_state_dict(init_state_dict(0))
    train, _, _, _ = load_shard(str(ROOT / "web" / "mnist.shard.gz"))
    data = torch.from_numpy(train[: 100 * args.batch])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(i):
        x = data[(i % 100) * args.batch:(i % 100 + 1) * args.batch]
        eps = torch.randn(args.batch, 20)
        optimizer.zero_grad(set_to_none=True)
        loss, _, _ = model.loss(x, eps)
        loss.backward()
        optimizer.step()

    for i in range(5):
        step(i)
    steps, start = 0, time.perf_counter()
    while steps < 10 or time.perf_counter() - start < args.seconds:
        step(steps)
        steps += 1
    ms = (time.perf_counter() - start) / steps * 1e3
    print(json.dumps({"ms_per_step": ms, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
