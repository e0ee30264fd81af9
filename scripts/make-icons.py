"""Writes web/icon-192.png and web/icon-512.png, the installed lab's icons: the page's first digit
(the 7 of crates/vae-app/src/lab/first_digit.rs), its pixels drawn square in white on the
page's accent colour, with the margin maskable icons need. Plain zlib, no imaging library:
`python3 scripts/make-icons.py`."""

import re
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCENT = (0x4F, 0x46, 0xE5)
INK = (0xFF, 0xFF, 0xFF)


def digit_rows():
    source = (ROOT / "crates/vae-app/src/lab/first_digit.rs").read_text()
    rows = re.findall(r'"([.#]{28})"', source)
    assert len(rows) == 28, f"expected 28 rows, found {len(rows)}"
    return rows


def png(side, rows):
    # The digit's inked box, centred, filling 60 % of the icon (inside the maskable safe zone).
    inked = [(r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch == "#"]
    top, bottom = min(r for r, _ in inked), max(r for r, _ in inked)
    left, right = min(c for _, c in inked), max(c for _, c in inked)
    extent = max(bottom - top, right - left) + 1
    cell = int(side * 0.6) // extent
    x0 = (side - (right - left + 1) * cell) // 2
    y0 = (side - (bottom - top + 1) * cell) // 2
    lines = []
    for y in range(side):
        line = bytearray([0])
        r = (y - y0) // cell + top if y >= y0 else -1
        for x in range(side):
            c = (x - x0) // cell + left if x >= x0 else -1
            on = top <= r <= bottom and left <= c <= right and rows[r][c] == "#"
            line += bytes(INK if on else ACCENT)
        lines.append(bytes(line))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(lines), 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    rows = digit_rows()
    for side in (192, 512):
        out = ROOT / "web" / f"icon-{side}.png"
        out.write_bytes(png(side, rows))
        print(f"{out.relative_to(ROOT)}: {out.stat().st_size} bytes")
