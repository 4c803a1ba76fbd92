"""QR PNGs: the symbol `qrcode` would make, read back by a real decoder."""

from __future__ import annotations

import io
import random
import string

import pytest
import qrcode
import zxingcpp
from PIL import Image
from qrcode import util
from qrcode.exceptions import DataOverflowError

from bot.qr_image import (
    MASK_PATTERN,
    MODULE_PIXELS,
    QUIET_ZONE,
    codewords,
    render_qr_png,
)

ALPHABETS = (
    string.ascii_letters + string.digits + "-_/:.",  # signed-token URLs: byte mode
    string.digits,  # numeric mode
    string.ascii_uppercase + string.digits + " $%*+-./:",  # alphanumeric mode
    "日本語データ" + string.ascii_letters,  # UTF-8 bytes
)


def qrcode_s_own(data: str, error_correction: int) -> qrcode.QRCode:
    code = qrcode.QRCode(
        error_correction=error_correction, box_size=1, border=QUIET_ZONE, mask_pattern=MASK_PATTERN
    )
    code.add_data(data)
    code.make(fit=True)
    return code


def test_codewords_and_version_are_those_qrcode_computes() -> None:
    rng = random.Random(7)
    for _ in range(400):
        data = "".join(
            rng.choices(rng.choice(ALPHABETS), k=rng.choice((1, 9, 20, 41, 120, 250, 600, 1100)))
        )
        error_correction = rng.randrange(4)
        try:
            code = qrcode_s_own(data, error_correction)
        except (DataOverflowError, ValueError):  # qrcode 8 raises ValueError past version 40
            continue
        version, words = codewords(code.data_list, error_correction)
        assert version == code.version, data
        assert words == util.create_data(version, error_correction, code.data_list), data


def test_data_too_long_for_any_version_is_refused() -> None:
    code = qrcode.QRCode()
    code.add_data("x" * 3000)
    with pytest.raises(DataOverflowError):
        codewords(code.data_list, qrcode.constants.ERROR_CORRECT_M)


@pytest.mark.parametrize("length", [1, 40, 230, 900])
def test_png_is_qrcode_s_symbol_with_its_quiet_zone_and_decodes(length: int) -> None:
    url = "https://permits.example.com/v/" + "".join(
        random.Random(length).choices(string.ascii_letters + string.digits + "-_", k=length)
    )
    png = render_qr_png(url)
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.mode) == ("PNG", "1")
    matrix = qrcode_s_own(url, qrcode.constants.ERROR_CORRECT_M).get_matrix()
    side = len(matrix) * MODULE_PIXELS
    assert image.size == (side, side)
    expected = Image.new("1", (len(matrix), len(matrix)))
    expected.putdata([0 if dark else 1 for row in matrix for dark in row])
    assert image.tobytes() == expected.resize((side, side), Image.Resampling.NEAREST).tobytes()
    [result] = zxingcpp.read_barcodes(image)
    assert result.text == url
