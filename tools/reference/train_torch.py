"""The article's VAE trained in PyTorch with the settings `vae train` uses, for the epoch-by-epoch
comparison in BENCHMARKS.md: binarized MNIST (50,000 training images, the 10,000 test images),
batch 128, Adam at 1e-3, 784-500-20, our seeded initialisation (bit for bit), the test −ELBO after
each epoch with one draw of ε. The shuffle and the noise come from torch's generator (seeded), so
the two runs agree within noise, not bit for bit.

    python tools/reference/train_torch.py --data ../shared/mnist --epochs 10 --json torch.json
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch

from vae_torch import VAE, init_state_dict, load_shard


def load_amat(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return np.loadtxt(f, dtype=np.float32)


def find(folder, part):
    for ext in ("amat", "amat.gz"):
        path = os.path.join(folder, f"binarized_mnist_{part}.{ext}")
        if os.path.exists(path):
            return path
    raise SystemExit(f"{folder}: no binarized_mnist_{part}.amat[.gz]")


def evaluate(model, x, batch, generator):
    total = np.zeros(3)
    with torch.no_grad():
        for start in range(0, len(x), batch):
            xb = x[start:start + batch]
            eps = torch.randn(len(xb), model.encoder.mean_x.out_features, generator=generator)
            loss, bce, kl = model.loss(xb, eps)
            total += len(xb) * np.array([loss.item(), bce.item(), kl.item()])
    return total / len(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/mnist", help="a folder of binarized MNIST .amat, or a .shard[.gz]")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    parser.add_argument("--save", help="write the trained state dict here (safetensors), for `vae eval`")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.data.endswith((".shard", ".shard.gz")):
        shard_train, _, shard_test, _ = load_shard(args.data)
        train, test = torch.from_numpy(shard_train), torch.from_numpy(shard_test)
    else:
        train = torch.from_numpy(load_amat(find(args.data, "train")))
        test = torch.from_numpy(load_amat(find(args.data, "test")))
    model = VAE()
    model.load_state_dict(init_state_dict(args.seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed)
    records, started, evaluating = [], time.time(), 0.0
    steps_per_epoch = len(train) // args.batch  # the remainder is left out, as in the engine
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(train), generator=generator)
        losses = []
        for k in range(steps_per_epoch):
            xb = train[order[k * args.batch:(k + 1) * args.batch]]
            eps = torch.randn(args.batch, 20, generator=generator)
            loss, _, _ = model.loss(xb, eps)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        evaluation_started = time.time()
        neg_elbo, bce, kl = evaluate(model, test, args.batch, generator)
        evaluating += time.time() - evaluation_started
        record = {
            "epoch": epoch, "step": epoch * steps_per_epoch, "train_neg_elbo": float(np.mean(losses)),
            "test_neg_elbo": neg_elbo, "test_bce": bce, "test_kl": kl, "seconds": time.time() - started,
            "train_seconds": time.time() - started - evaluating,
        }
        records.append(record)
        print(f"epoch {epoch:>3}  train −ELBO {record['train_neg_elbo']:7.2f}  test −ELBO {neg_elbo:7.2f} "
              f"(BCE {bce:.2f} + KL {kl:.2f})  {record['seconds']:.0f} s", flush=True)
    if args.save:
        from safetensors.torch import save_file
        # The conventional call, as Hugging Face tools and most scripts make it.
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.save, metadata={"format": "pt"})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"framework": f"PyTorch {torch.__version__}", "epochs": records}, f, indent=2)


if __name__ == "__main__":
    main()
