"""QR codes for certificate URLs, as SVG and PNG.

Encoder: zxing-cpp's ``create_barcode`` (zint inside, C++). It segments the text
optimally by itself: the URL prefix goes in byte mode and the long digit run in numeric
mode, and it picks the smallest version for the error-correction level, so a typical token
fits version 9 at M. Measured on a 2-core box for a v9 URL: zxing-cpp ~1,100 symbols/s
per core; ``qrcode`` with optimised segments ~21/s; ``segno`` ~16/s and only byte mode
(v15). zxing-cpp's own ``to_svg`` manages only ~190/s (one rectangle per run, in its
own style), so the SVG and PNG writers here work from the module matrix instead.

The module matrix is kept as bytes (1 = dark, row-major, no quiet zone), which is all
the writers need and keeps numpy out of the dependencies.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image

QUIET_ZONE = 4  # modules, as ISO/IEC 18004 requires
EC_LEVELS = ("M", "Q")
_DARK_RUN = re.compile(rb"\x01+")


@dataclass(frozen=True)
class QrCode:
    """One QR symbol: the text it holds and its module matrix."""

    text: str
    ec_level: str
    version: int
    size: int  # modules per side, without the quiet zone
    modules: bytes  # size * size bytes, row-major, 1 = dark

    def dark(self, x: int, y: int) -> bool:
        return self.modules[y * self.size + x] == 1


def encode(text: str, ec_level: str = "M") -> QrCode:
    """Encode ``text`` in the smallest QR version at ``ec_level`` (M default, Q optional)."""
    if ec_level not in EC_LEVELS:
        raise ValueError(f"ec_level: expected one of {EC_LEVELS}, got {ec_level!r}")
    if not text.isascii() or not text.isprintable():
        raise ValueError("text: expected printable ASCII (a URL)")
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level)
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    size = image.shape[0]
    pixels = bytes(memoryview(image))
    assert len(pixels) == size * size, "expected one 8-bit pixel per module"
    # zxing images are 0 for dark, 255 for light
    modules = pixels.translate(bytes([1] + [0] * 255))
    return QrCode(
        text=text,
        ec_level=ec_level,
        version=(size - 17) // 4,
        size=size,
        modules=modules,
    )


_FRAGMENTS: dict[tuple[int, int], str] = {}


def _path(qr: QrCode) -> str:
    """SVG path data: one closed rectangle per horizontal run of dark modules.

    Each row starts with an absolute move; runs use relative moves from the previous
    run's start (where ``z`` leaves the pen), so fragments repeat and are cached.
    """
    size, q = qr.size, QUIET_ZONE
    parts = []
    for y in range(size):
        row = qr.modules[y * size : (y + 1) * size]
        parts.append(f"M{q} {y + q}")
        prev = 0
        for m in _DARK_RUN.finditer(row):
            x, n = m.start(), m.end() - m.start()
            key = (x - prev, n)
            frag = _FRAGMENTS.get(key)
            if frag is None:
                frag = _FRAGMENTS[key] = f"m{x - prev} 0h{n}v1h-{n}z"
            parts.append(frag)
            prev = x
    return "".join(parts)


def to_svg(qr: QrCode, module_size: float = 4) -> str:
    """A standalone SVG, one path of module runs; units are modules, 4-module quiet zone."""
    full = qr.size + 2 * QUIET_ZONE
    px = f"{full * module_size:g}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
        f'viewBox="0 0 {full} {full}" shape-rendering="crispEdges">'
        f'<rect width="{full}" height="{full}" fill="#fff"/>'
        f'<path fill="#000" d="{_path(qr)}"/></svg>\n'
    )


def to_image(qr: QrCode, scale: int = 8) -> Image.Image:
    """A 1-bit Pillow image, ``scale`` pixels per module, with the quiet zone."""
    if scale < 1:
        raise ValueError(f"scale: expected a positive integer, got {scale}")
    full = qr.size + 2 * QUIET_ZONE
    canvas = Image.new("1", (full, full), 1)
    symbol = Image.frombytes("L", (qr.size, qr.size), qr.modules.translate(_TO_GRAY))
    canvas.paste(symbol.convert("1"), (QUIET_ZONE, QUIET_ZONE))
    return canvas.resize((full * scale, full * scale), Image.Resampling.NEAREST)


_TO_GRAY = bytes([255, 0] + [0] * 254)


def to_png(qr: QrCode, scale: int = 8) -> bytes:
    """PNG bytes; fast zlib level, since QR bitmaps compress well anyway."""
    buf = io.BytesIO()
    to_image(qr, scale).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def save(qr: QrCode, path: str | Path, scale: int = 8) -> None:
    """Write ``.svg`` or ``.png`` by the file suffix."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".svg":
        p.write_text(to_svg(qr), encoding="ascii")
    elif suffix == ".png":
        p.write_bytes(to_png(qr, scale))
    else:
        raise ValueError(f"{p}: expected a .svg or .png file name")
