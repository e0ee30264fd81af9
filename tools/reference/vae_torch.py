"""The article's VAE in PyTorch, and the bit-exact mirrors of our seeded initialisation and noise.

Shared by `make_fixture.py` (the parity fixture the engine's tests read) and, later, the
checkpoint round trip and the CPU benchmark. Runs on the CPU.
"""
import gzip
import struct

import numpy as np
import torch
from torch import nn

MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


class Encoder(nn.Module):
    def __init__(self, input_size=784, hidden=500, latent=20):
        super().__init__()
        self.enc1 = nn.Linear(input_size, hidden)
        self.mean_x = nn.Linear(hidden, latent)
        self.logvar_x = nn.Linear(hidden, latent)

    def forward(self, x):
        h = torch.relu(self.enc1(x))
        return self.mean_x(h), self.logvar_x(h)


class Decoder(nn.Module):
    def __init__(self, input_size=784, hidden=500, latent=20):
        super().__init__()
        self.dec1 = nn.Linear(latent, hidden)
        self.out = nn.Linear(hidden, input_size)

    def forward(self, z):
        return self.out(torch.relu(self.dec1(z)))


class VAE(nn.Module):
    def __init__(self, input_size=784, hidden=500, latent=20):
        super().__init__()
        self.encoder = Encoder(input_size, hidden, latent)
        self.decoder = Decoder(input_size, hidden, latent)

    def loss(self, x, eps):
        """Batch-mean −ELBO with the given noise: (loss, bce, kl), each a scalar tensor."""
        mean, logvar = self.encoder(x)
        z = mean + torch.exp(0.5 * logvar) * eps
        logits = self.decoder(z)
        bce = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        kl = -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp()) / x.shape[0]
        return bce + kl, bce, kl


# Tensor order of the flat layout (crates/vae-reference/src/layout.rs): the init stream follows it.
def tensor_order(input_size, hidden, latent):
    return [
        ("encoder.enc1.weight", (hidden, input_size), input_size),
        ("encoder.enc1.bias", (hidden,), input_size),
        ("encoder.mean_x.weight", (latent, hidden), hidden),
        ("encoder.logvar_x.weight", (latent, hidden), hidden),
        ("encoder.mean_x.bias", (latent,), hidden),
        ("encoder.logvar_x.bias", (latent,), hidden),
        ("decoder.dec1.weight", (hidden, latent), latent),
        ("decoder.dec1.bias", (hidden,), latent),
        ("decoder.out.weight", (input_size, hidden), hidden),
        ("decoder.out.bias", (input_size,), hidden),
    ]


def splitmix64(seed, count):
    """`count` outputs of SplitMix64 from `seed` (crates/vae-reference/src/rng.rs)."""
    with np.errstate(over="ignore"):
        state = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def init_state_dict(seed, input_size=784, hidden=500, latent=20):
    """Our initialisation (crates/vae-reference/src/init.rs), value for value, as f32."""
    order = tensor_order(input_size, hidden, latent)
    total = sum(int(np.prod(shape)) for _, shape, _ in order)
    u = (splitmix64(seed, total) >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
    state, at = {}, 0
    for name, shape, fan_in in order:
        n = int(np.prod(shape))
        bound = np.float32(1.0) / np.sqrt(np.float32(fan_in))
        low, high = -bound, bound
        values = low + (high - low) * u[at:at + n]
        state[name] = torch.from_numpy(values.astype(np.float32).reshape(shape))
        at += n
    return state


def _pcg(v):
    with np.errstate(over="ignore"):
        state = v * np.uint32(747796405) + np.uint32(2891336453)
        word = ((state >> ((state >> np.uint32(28)) + np.uint32(4))) ^ state) * np.uint32(277803737)
        return (word >> np.uint32(22)) ^ word


def batch_noise(seed, step, rows, latent):
    """The GPU's ε for a training step (shaders/noise.wgsl), in float64."""
    low, high = np.uint32(seed & 0xFFFFFFFF), np.uint32(seed >> 32)
    counters = np.arange(rows * latent, dtype=np.uint32)

    def hashed(c):
        return _pcg(low ^ _pcg(high ^ _pcg(np.uint32(step) ^ _pcg(c))))

    u1 = ((hashed(2 * counters) >> np.uint32(8)).astype(np.float64) + 1.0) / 16777216.0
    u2 = (hashed(2 * counters + 1) >> np.uint32(8)).astype(np.float64) / 16777216.0
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)).reshape(rows, latent)


def load_shard(path):
    """(train_images, train_labels, test_images, test_labels) of a shard (crates/mnist-shard/FORMAT.md)
    as float32 0/1 arrays [n, 784] and uint8 labels."""
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    assert raw[:8] == b"VAESHARD", "not a shard"
    width, height, n_train, n_test = struct.unpack_from("<4I", raw, 16)
    train_at, train_labels_at, test_at, test_labels_at = struct.unpack_from("<4I", raw, 40)
    pixels = width * height
    words = (pixels + 31) // 32

    def images(at, n):
        packed = np.frombuffer(raw, dtype=np.uint8, count=n * words * 4, offset=at).reshape(n, words * 4)
        return np.unpackbits(packed, axis=1, bitorder="little")[:, :pixels].astype(np.float32)

    def labels(at, n):
        return np.frombuffer(raw, dtype=np.uint8, count=n, offset=at)

    return images(train_at, n_train), labels(train_labels_at, n_train), images(test_at, n_test), labels(test_labels_at, n_test)
