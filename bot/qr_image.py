"""QR codes as 1-bit PNG images: the `qrcode` package's symbol, with its slow parts replaced.

Profiled on a verification URL (version 11, bench/render.py), `qrcode` spent most of its
time in pure-Python bit and polynomial work: finding the version encodes the data twice
(bit by bit), and the Reed-Solomon error correction divides polynomials held as lists.
Here the data bits are packed into one integer, the version is read off the payload's
length, and the error-correction bytes come from a table per generator polynomial (one
shift and XOR per data byte); `qrcode` still lays out the symbol (function patterns,
format and version information, data placement). The codewords are those `qrcode` would
compute (tests/bot/test_qr_image.py compares them), so the symbol is unchanged.
"""

from __future__ import annotations

import io
from functools import cache

from PIL import Image
from qrcode import QRCode, util
from qrcode.base import EXP_TABLE, LOG_TABLE, rs_blocks
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError
from qrcode.LUT import rsPoly_LUT

# Any of the 8 mask patterns is a valid QR code (ISO/IEC 18004) and scanners try them all;
# choosing the "best" one encodes the symbol 8 times and scores each, which was 3/4 of the
# render time (bench/render.py). Pattern 2 (vertical stripes every 3 modules) is used always.
MASK_PATTERN = 2
ERROR_CORRECTION = ERROR_CORRECT_M
MODULE_PIXELS = 8
QUIET_ZONE = 4
# A 1-bit PNG of long runs: zlib's fastest level is a few hundred bytes larger than its
# default and takes half the time.
PNG_COMPRESS_LEVEL = 1


# A module of the matrix (True: dark) as a byte of a "1;8" image (0: black, 255: white).
_MODULE_TO_PIXEL = bytes.maketrans(b"\x00\x01", b"\xff\x00")


class _Bits:
    """`qrcode`'s BitBuffer interface (`put`), collecting the bits in one integer."""

    __slots__ = ("length", "value")

    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def put(self, number: int, length: int) -> None:
        self.value = (self.value << length) | (number & ((1 << length) - 1))
        self.length += length


@cache
def _remainder_table(ec_count: int) -> tuple[int, ...]:
    """For each leading byte, the generator polynomial times it (its n lower terms, as an int).

    Dividing by the generator then takes one shift and one XOR per data byte.
    """
    generator = rsPoly_LUT[ec_count]  # n + 1 coefficients, the first one 1
    table = []
    for factor in range(256):
        product = 0
        for coefficient in generator[1:]:
            term = 0
            if factor and coefficient:
                term = EXP_TABLE[(LOG_TABLE[factor] + LOG_TABLE[coefficient]) % 255]
            product = (product << 8) | term
        table.append(product)
    return tuple(table)


def _error_correction(data: bytes, ec_count: int) -> bytes:
    """The Reed-Solomon error-correction codewords of one block (QR's GF(256))."""
    table = _remainder_table(ec_count)
    shift = 8 * (ec_count - 1)
    mask = (1 << (8 * ec_count)) - 1
    remainder = 0
    for byte in data:
        remainder = ((remainder << 8) & mask) ^ table[(remainder >> shift) ^ byte]
    return remainder.to_bytes(ec_count, "big")


def codewords(chunks: list[util.QRData], error_correction: int) -> tuple[int, list[int]]:
    """The smallest version that holds `chunks`, and its codewords (as `util.create_data`)."""
    payloads = []
    for chunk in chunks:
        bits = _Bits()
        chunk.write(bits)
        payloads.append((chunk, bits))
    limits = util.BIT_LIMIT_TABLE[error_correction]
    for version in range(1, 41):
        sizes = util.mode_sizes_for_version(version)
        needed = sum(4 + sizes[chunk.mode] + bits.length for chunk, bits in payloads)
        if needed <= limits[version]:
            break
    else:
        raise DataOverflowError(f"{needed} bits do not fit in a QR code")
    stream = _Bits()
    for chunk, bits in payloads:
        stream.put(chunk.mode, 4)
        stream.put(len(chunk), sizes[chunk.mode])
        stream.put(bits.value, bits.length)
    limit = limits[version]
    stream.put(0, min(4, limit - stream.length))  # terminator
    stream.put(0, -stream.length % 8)
    padding = (limit - stream.length) // 8
    data = (
        stream.value.to_bytes(stream.length // 8, "big")
        + (bytes((util.PAD0, util.PAD1)) * (padding // 2 + 1))[:padding]
    )
    blocks = []
    offset = 0
    for block in rs_blocks(version, error_correction):
        block_data = data[offset : offset + block.data_count]
        offset += block.data_count
        ec = _error_correction(block_data, block.total_count - block.data_count)
        blocks.append((block_data, ec))
    interleaved: list[int] = []
    for parts in ([block_data for block_data, _ec in blocks], [ec for _data, ec in blocks]):
        for index in range(max(map(len, parts))):
            interleaved.extend(part[index] for part in parts if index < len(part))
    return version, interleaved


def render_qr_png(data: str) -> bytes:
    """A QR code of `data` as a 1-bit PNG (medium error correction, quiet zone included)."""
    code = QRCode(
        error_correction=ERROR_CORRECTION,
        box_size=1,
        border=QUIET_ZONE,
        mask_pattern=MASK_PATTERN,
    )
    code.add_data(data)
    code.version, code.data_cache = codewords(code.data_list, ERROR_CORRECTION)
    code.makeImpl(False, MASK_PATTERN)
    matrix = code.get_matrix()  # includes the quiet zone
    size = len(matrix)
    # One byte per module ("1;8"): 0 is black, anything else white.
    pixels = b"".join(map(bytes, matrix)).translate(_MODULE_TO_PIXEL)
    image = Image.frombytes("1", (size, size), pixels, "raw", "1;8")
    image = image.resize((size * MODULE_PIXELS, size * MODULE_PIXELS), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
