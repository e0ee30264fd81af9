"""The engine's seeded randomness and data, mirrored in numpy alone (no torch): the counter-based
Gaussian noise of shaders/noise.wgsl, SplitMix64, and the shard reader. Shared by the PyTorch
references (vae_torch.py) and the light checkpoint reader CI runs (roundtrip_numpy.py).
"""
import gzip
import struct

import numpy as np


def splitmix64(seed, count):
    """`count` outputs of SplitMix64 from `seed` (crates/vae-reference/src/rng.rs)."""
    with np.errstate(over="ignore"):
        state = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


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
