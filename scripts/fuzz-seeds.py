#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/ that no test file already provides: small
safetensors checkpoints of every kind the lab reads (full, legacy, state dict, F16, BF16, foreign
metadata), link fragments, settings forms and stored curves. Deterministic: no randomness.
scripts/fuzz.sh adds them to the corpus before fuzzing; the committed corpus is the minimised
result."""
import json, struct, sys, os

INPUT, HIDDEN, LATENT = 4, 3, 2
NAMES = [
    ("encoder.enc1.weight", [HIDDEN, INPUT]), ("encoder.enc1.bias", [HIDDEN]),
    ("encoder.mean_x.weight", [LATENT, HIDDEN]), ("encoder.mean_x.bias", [LATENT]),
    ("encoder.logvar_x.weight", [LATENT, HIDDEN]), ("encoder.logvar_x.bias", [LATENT]),
    ("decoder.dec1.weight", [HIDDEN, LATENT]), ("decoder.dec1.bias", [HIDDEN]),
    ("decoder.out.weight", [INPUT, HIDDEN]), ("decoder.out.bias", [INPUT]),
]

def count(shape):
    n = 1
    for d in shape:
        n *= d
    return n

def encode(dtype, values):
    if dtype == "F32":
        return b"".join(struct.pack("<f", v) for v in values)
    if dtype == "F16":
        return b"".join(struct.pack("<e", v) for v in values)
    # BF16: the top half of the f32.
    return b"".join(struct.pack("<f", v)[2:] for v in values)

def safetensors(tensors, metadata, dtype="F32"):
    header, data = {}, b""
    for name, shape, values in tensors:
        raw = encode(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data

def params(prefix="", scale=0.01, positive=False):
    out = []
    for i, (name, shape) in enumerate(NAMES):
        values = [((j * 7 + i) % 11 - 5) * scale for j in range(count(shape))]
        if positive:
            values = [abs(v) for v in values]
        out.append((prefix + name, shape, values))
    return out

def full_metadata(prefix="vae-lab.", version="2"):
    keys = {"format": version, "input": INPUT, "hidden": HIDDEN, "latent": LATENT, "batch": 2,
            "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "seed": 0, "kl_weight": 0.5,
            "step": 12, "epoch": 1, "position": 3}
    meta = {prefix + k: str(v) for k, v in keys.items()}
    if prefix:
        meta["format"] = "pt"
    else:
        meta["format"] = "vae-lab/1"
        del meta["kl_weight"]  # written before β existed
    return meta

def npy(descr, shape, data, version=1):
    """An .npy file as NumPy writes it: magic, version, header length, a padded dict header."""
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    prefix = 10 if version == 1 else 12
    header += " " * (-(prefix + len(header) + 1) % 64) + "\n"
    length = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + data

def zipped(files, deflate=True):
    """A zip archive of (name, bytes), deflated or stored, with a fixed timestamp."""
    import io, zipfile
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, compress_type=method)
    return buffer.getvalue()

def main(out):
    full = params() + params("optimizer.m.") + params("optimizer.v.", positive=True)
    seeds = {
        "checkpoint": {
            "full.safetensors": safetensors(full, full_metadata()),
            "legacy.safetensors": safetensors(full, full_metadata(prefix="")),
            "state-dict.safetensors": safetensors(params(), {"format": "pt"}),
            "state-dict-no-metadata.safetensors": safetensors(params(), None),
            "compact-f16.safetensors": safetensors(params(), {"format": "pt", "vae-lab.description": "seed", "vae-lab.test_neg_elbo": "100.5"}, "F16"),
            "compact-bf16.safetensors": safetensors(params(), {"format": "pt"}, "BF16"),
            "foreign-metadata.safetensors": safetensors(params(), {"format": "pt", "framework": "flax", "step": "x"}),
            "huge-sizes-in-metadata.safetensors": safetensors(params(), dict(full_metadata(), **{"vae-lab.hidden": "20000"})),
        },
        "fragment": {
            "link.txt": b"#lr=0.001&batch=128&latent=2&hidden=500&seed=0&beta=0.5&z=0.5,-1.25",
            "defaults.txt": b"#lr=0.001&batch=128&latent=20&hidden=500&seed=0&z=" + b",".join(b"0" for _ in range(20)),
            "empty.txt": b"",
            "partial.txt": b"seed=3&latent=4",
        },
        "settings": {
            "classic.txt": "\x1f".join(["0.001", "128", "20", "500", "0", "1"]).encode(),
            "beta.txt": "\x1f".join([" 1e-3 ", "64", "2", "16", "18446744073709551615", "0.25"]).encode(),
            "too-large.txt": "\x1f".join(["1", "4096", "64", "4096", "1", "100"]).encode(),
        },
        "npy": {
            "u8-images.npy": npy("|u1", (2, 3, 4), bytes(range(24))),
            "f4-rgb.npy": npy("<f4", (1, 2, 2, 3), struct.pack("<12f", *[i / 11 for i in range(12)])),
            "f8-big-endian.npy": npy(">f8", (1, 1, 2), struct.pack(">2d", 0.0, 1.0)),
            "bool.npy": npy("|b1", (1, 2, 2), bytes([1, 0, 0, 1])),
            "v2-header.npy": npy("|u1", (1, 1, 1), bytes([7]), version=2),
            "nan.npy": npy("<f4", (1, 1, 1), struct.pack("<f", float("nan"))),
        },
        "idx": {
            "images.idx": struct.pack(">IIII", 0x803, 2, 2, 3) + bytes(range(12)),
            "labels.idx": struct.pack(">II", 0x801, 3) + bytes([1, 2, 9]),
            "short.idx": struct.pack(">IIII", 0x803, 9, 9, 9) + bytes(5),
        },
        "archive": {
            "two-files.zip": zipped([("cats/a.png", b"\x89PNG not really"), ("dogs/b.npy", npy("|u1", (1, 1, 1), bytes([9])))]),
            "npz.npz": zipped([("x.npy", npy("|u1", (2, 1, 2), bytes([1, 2, 3, 4]))), ("y.npy", npy("|u1", (2,), bytes([0, 1])))]),
            "stored.zip": zipped([("plain.txt", b"stored, not deflated")], deflate=False),
        },
        "image_header": {
            "png.png": b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", 20000, 20000) + bytes(5),
            "gif.gif": b"GIF89a" + struct.pack("<HH", 40, 30) + bytes(4),
            "bmp.bmp": b"BM" + bytes(12) + struct.pack("<Iii", 40, 7, -9),
            "bmp-core.bmp": b"BM" + bytes(12) + struct.pack("<IHH", 12, 7, 9),
            "jpeg.jpg": bytes([0xff, 0xd8, 0xff, 0xe0, 0, 16]) + bytes(14) + bytes([0xff, 0xc0, 0, 17, 8, 0, 40, 0, 50]),
            "webp-vp8x.webp": b"RIFF" + bytes(4) + b"WEBPVP8X" + bytes(8) + bytes([99, 0, 0, 199, 0, 0]),
            "webp-vp8l.webp": b"RIFF" + bytes(4) + b"WEBPVP8L" + bytes(5) + struct.pack("<I", (27 << 14) | 35),
            "webp-vp8.webp": b"RIFF" + bytes(4) + b"WEBPVP8 " + bytes(10) + struct.pack("<HH", 64, 48),
        },
        "saved_curve": {
            "two-points.bin": struct.pack("<" + "d" * (3 + 4 * 2 + 6), 1, 2, 1,
                                          1, 200, 150, 20, 2, 190, 140, 19,
                                          1, 390, 12345.5, 127.25, 105.5, 21.75),
            "empty-curve.bin": struct.pack("<ddd", 1, 0, 0),
        },
    }
    for target, files in seeds.items():
        os.makedirs(os.path.join(out, target), exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(out, target, name), "wb") as f:
                f.write(data)

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus")
