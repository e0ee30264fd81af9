"""The article's VAE in PyTorch, and the bit-exact mirrors of our seeded initialisation and noise.

Shared by `make_fixture.py` (the parity fixture the engine's tests read) and, later, the
checkpoint round trip and the CPU benchmark. Runs on the CPU.
"""
import numpy as np
import torch
from torch import nn

# Re-exported: the references import them from here.
from engine_mirror import batch_noise, load_shard, splitmix64  # noqa: F401

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

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """A `vae train` checkpoint also carries Adam's moments under "optimizer.": not the
        model's, so `model.load_state_dict(safetensors.torch.load_file(path))` just works."""
        model_only = {k: v for k, v in state_dict.items() if not k.startswith("optimizer.")}
        return super().load_state_dict(model_only, strict=strict, assign=assign)

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


