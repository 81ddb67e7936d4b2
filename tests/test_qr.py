"""QR rendering: smallest version with numeric digits, and scans by zxing-cpp survive print."""

from __future__ import annotations

import io
import random
import re

import pytest
import zxingcpp
from nacl.signing import SigningKey
from PIL import Image, ImageFilter
from qrcode.util import BIT_LIMIT_TABLE

from xcert import qr
from xcert import token as tk

IAT = 1751299200
CLAIMS = tk.Claims(1, "elderly-care", 2, "2025070100000123", "王小明", "123X", IAT, None, "4143010827")
TOKEN = tk.sign(CLAIMS, SigningKey(bytes(range(32))))
PREFIX = "https://verify.1x.example.cn"
URL = tk.url_for(PREFIX, TOKEN)


def two_segment_version(prefix: str, digits: int, ec: str) -> int:
    """Smallest version for byte-mode prefix + numeric-mode digits (ISO/IEC 18004 tables)."""
    table = BIT_LIMIT_TABLE[{"M": 0, "Q": 3}[ec]]
    for version in range(1, 41):
        byte_cc, num_cc = (8, 10) if version < 10 else (16, 12) if version < 27 else (16, 14)
        bits = 4 + byte_cc + 8 * len(prefix) + 4 + num_cc + 10 * (digits // 3)
        bits += (0, 4, 7)[digits % 3]
        if bits <= table[version]:
            return version
    raise AssertionError("too long")


QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def scan(image: Image.Image) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image, formats=QR_ONLY)]


@pytest.mark.parametrize("ec", ["M", "Q"])
def test_digits_in_numeric_mode_and_smallest_version(ec):
    code = qr.encode(URL, ec)
    prefix = PREFIX + "/c/"
    assert code.version == two_segment_version(prefix, len(URL) - len(prefix), ec)
    assert code.size == 17 + 4 * code.version
    assert code.version <= {"M": 9, "Q": 11}[ec]  # the bar of issue 4
    read = zxingcpp.read_barcodes(qr.to_image(code, 4))[0]
    assert (read.text, read.ec_level, read.extra["Version"]) == (URL, ec, str(code.version))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="ec_level"):
        qr.encode(URL, "L")
    with pytest.raises(ValueError, match="printable ASCII"):
        qr.encode("https://例子.cn/c/1")
    with pytest.raises(ValueError, match="scale"):
        qr.to_image(qr.encode(URL), 0)


def test_png_has_quiet_zone_and_scans():
    code = qr.encode(URL)
    image = Image.open(io.BytesIO(qr.to_png(code, scale=3)))
    full = (code.size + 2 * qr.QUIET_ZONE) * 3
    assert image.size == (full, full)
    gray = image.convert("L")
    border = [gray.getpixel((x, y)) for x in range(full) for y in range(12)]
    assert set(border) == {255}
    assert gray.getpixel((12, 12)) == 0  # finder pattern starts right after the quiet zone
    assert scan(image) == [URL]


def svg_modules(svg: str, size: int) -> bytes:
    """Rasterise our own path dialect (stroked rows: h draws, m skips) into a module matrix."""
    found = re.search(r' d="([^"]*)"', svg)
    assert found is not None
    d = found.group(1)
    assert 'stroke-width="1"' in svg and 'fill="none"' in svg
    grid = bytearray(size * size)
    for x0, y, moves in re.findall(r"M(\d+) (\d+)\.5((?:h\d+|m\d+ 0)*)", d):
        x, y = int(x0) - qr.QUIET_ZONE, int(y) - qr.QUIET_ZONE
        for draw, skip in re.findall(r"h(\d+)|m(\d+) 0", moves):
            n = int(draw or skip)
            if draw:
                grid[y * size + x : y * size + x + n] = b"\x01" * n
            x += n
        assert x == size  # every row accounts for every module
    return bytes(grid)


def test_svg_draws_exactly_the_modules():
    code = qr.encode(URL)
    svg = qr.to_svg(code)
    full = code.size + 2 * qr.QUIET_ZONE
    assert f'viewBox="0 0 {full} {full}"' in svg
    assert svg_modules(svg, code.size) == code.modules


@pytest.mark.parametrize("scale", [1, 3, 8, 13])
def test_png_pixels_equal_pillow_rendering(scale):
    code = qr.encode(URL, "Q")
    image = Image.open(io.BytesIO(qr.to_png(code, scale)))
    assert image.mode == "1" and image.tobytes() == qr.to_image(code, scale).tobytes()


def test_save_by_suffix(tmp_path):
    code = qr.encode(URL)
    qr.save(code, tmp_path / "a.svg")
    qr.save(code, tmp_path / "a.png")
    assert (tmp_path / "a.svg").read_text().startswith("<svg")
    assert scan(Image.open(tmp_path / "a.png")) == [URL]
    with pytest.raises(ValueError, match="expected a .svg or .png"):
        qr.save(code, tmp_path / "a.jpg")


def _print_scale(img: Image.Image) -> Image.Image:
    # 2 cm wide at 300 dpi is ~236 px for 61 modules: under 4 px per module, not aligned
    return img.convert("L").resize((236, 236), Image.Resampling.LANCZOS)


def _rotated(img: Image.Image) -> Image.Image:
    return img.convert("L").rotate(5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def _blurred(img: Image.Image, radius: float = 2) -> Image.Image:
    return img.convert("L").filter(ImageFilter.GaussianBlur(radius))


def _noisy(img: Image.Image, amount: float = 0.35) -> Image.Image:
    gray = img.convert("L")
    noise = random.Random(4).randbytes(gray.width * gray.height)  # uniform 0-255
    return Image.blend(gray, Image.frombytes("L", gray.size, noise), amount)


def _camera(img: Image.Image) -> Image.Image:
    """All at once, milder each: print scale, 5 degrees, a 1 px blur, 20% noise."""
    return _noisy(_blurred(_rotated(_print_scale(img)), 1.0), 0.2)


@pytest.mark.parametrize("distort", [_print_scale, _rotated, _blurred, _noisy, _camera])
@pytest.mark.parametrize("ec", ["M", "Q"])
def test_scans_after_distortion(distort, ec):
    image = distort(qr.to_image(qr.encode(URL, ec), scale=6))
    assert scan(image) == [URL]
