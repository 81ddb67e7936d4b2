"""QR codes for certificate URLs, as SVG and PNG.

Encoder: zxing-cpp's ``create_barcode`` (zint inside, C++). It segments the text
optimally by itself: the URL prefix goes in byte mode and the long digit run in numeric
mode, and it picks the smallest version for the error-correction level, so a typical token
fits version 9 at M. Measured on a 2-core box for a v9 URL: zxing-cpp ~1,100 symbols/s
per core; ``qrcode`` with optimised segments ~21/s; ``segno`` ~16/s and only byte mode
(v15). zxing-cpp's own ``to_svg`` manages only ~190/s (one rectangle per run, in its
own style), so the SVG and PNG writers here work from the module matrix instead
(~0.3 ms and ~0.15 ms for a v9 symbol, against ~0.75 ms for run-by-run SVG paths and
~1.3 ms for Pillow's PNG): a 20,000-certificate batch is dominated by the encoder.

The module matrix is kept as bytes (1 = dark, row-major, no quiet zone), which is all
the writers need and keeps numpy out of the dependencies.
"""

from __future__ import annotations

import functools
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image

QUIET_ZONE = 4  # modules, as ISO/IEC 18004 requires
EC_LEVELS = ("M", "Q")


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
    # zxingcpp's stub leaves out Image's buffer protocol, which the C++ binding has
    pixels = bytes(memoryview(image))  # type: ignore[arg-type]
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


_CHUNK = 8  # modules per cached path fragment


@functools.cache
def _fragment(chunk: bytes) -> str:
    """Path for one run of up to 8 modules: ``h`` draws dark modules, ``m`` skips light ones.

    Every fragment advances the pen by exactly its width, so fragments are independent of
    where they sit and at most 2**8 of each width ever exist: a symbol becomes a few hundred
    dictionary look-ups instead of a Python step per run (to_svg ~8x faster).
    """
    out = []
    for m in _RUN.finditer(chunk):
        n = m.end() - m.start()
        out.append(f"h{n}" if chunk[m.start()] else f"m{n} 0")
    return "".join(out)


_RUN = re.compile(rb"\x01+|\x00+")


def _path(qr: QrCode) -> str:
    """SVG path data: per row an absolute move to the module row's centre line, then chunks.

    Drawn with a 1-module stroke (butt caps), so ``h3`` paints three modules of that row.
    """
    size, q = qr.size, QUIET_ZONE
    parts = []
    for y in range(size):
        row = qr.modules[y * size : (y + 1) * size]
        parts.append(f"M{q} {y + q}.5")
        parts.extend(_fragment(row[x : x + _CHUNK]) for x in range(0, size, _CHUNK))
    return "".join(parts)


def to_svg(qr: QrCode, module_size: float = 4) -> str:
    """A standalone SVG, one stroked path of module runs; units are modules, 4-module quiet zone."""
    full = qr.size + 2 * QUIET_ZONE
    px = f"{full * module_size:g}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
        f'viewBox="0 0 {full} {full}" shape-rendering="crispEdges">'
        f'<rect width="{full}" height="{full}" fill="#fff"/>'
        f'<path fill="none" stroke="#000" stroke-width="1" d="{_path(qr)}"/></svg>\n'
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
_ZLEVEL = 1  # repeated rows make zlib's match search slow above 2-4 (level 6: 5x the time)
_TO_BYTE = _TO_GRAY  # 8 light pixels are 0xff, 8 dark ones 0x00


def to_png(qr: QrCode, scale: int = 8) -> bytes:
    """A 1-bit grayscale PNG, ``scale`` pixels per module, with the quiet zone.

    Written directly rather than through Pillow (~10x faster, which matters for batches):
    each module row becomes one packed pixel row, repeated ``scale`` times. The pixels are
    exactly :func:`to_image`'s.
    """
    if scale < 1:
        raise ValueError(f"scale: expected a positive integer, got {scale}")
    full = qr.size + 2 * QUIET_ZONE
    width = full * scale
    pad = -width % 8
    light, dark = "1" * scale, "0" * scale
    margin = light * QUIET_ZONE
    blank = b"\x00" + int(light * full + "0" * pad, 2).to_bytes((width + pad) // 8, "big")
    table = {0: light, 1: dark}
    rows = [blank * (QUIET_ZONE * scale)]
    edge = b"\xff" * QUIET_ZONE
    for y in range(qr.size):
        row = qr.modules[y * qr.size : (y + 1) * qr.size]
        if scale == 8:  # the default: one module is one byte, no bit packing needed
            line = b"\x00" + edge + row.translate(_TO_BYTE) + edge
        else:
            bits = margin + row.decode("latin-1").translate(table) + margin + "0" * pad
            line = b"\x00" + int(bits, 2).to_bytes((width + pad) // 8, "big")
        rows.append(line * scale)  # filter byte 0 (none) + the packed row
    rows.append(blank * (QUIET_ZONE * scale))
    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)  # 1-bit grayscale, no interlace
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(b"".join(rows), _ZLEVEL)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


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
