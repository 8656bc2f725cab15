"""A screenshot PNG rewritten with a palette of its 256 commonest colours: a fifth of the size, for the README.

Chromium writes truecolour PNGs with fast compression; a mail is a few flat colours plus the grey
shades of anti-aliased text, so an indexed PNG (PNG spec, colour type 3) loses nothing a reader
sees. Standard library only: filters undone per row (PNG spec section 9), pixels mapped to the
nearest palette colour, written back unfiltered at zlib's best compression.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # truecolour, truecolour with alpha


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG")
    chunks, position = [], len(_SIGNATURE)
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunks.append((kind, data[position + 8 : position + 8 + length]))
        position += 12 + length
    return chunks


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    a, b, c = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    return left if a <= b and a <= c else up if b <= c else up_left


def _unfiltered(raw: bytes, width: int, height: int, channels: int) -> list[bytearray]:
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    position = 0
    for _ in range(height):
        kind, row = raw[position], bytearray(raw[position + 1 : position + 1 + stride])
        position += 1 + stride
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                up_left = previous[i - channels] if i >= channels else 0
                row[i] = (row[i] + _paeth(left, up, up_left)) & 0xFF
        rows.append(row)
        previous = row
    return rows


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _distance(first: bytes, second: bytes) -> int:
    return sum((a - b) ** 2 for a, b in zip(first, second, strict=True))


def quantize(path: Path) -> None:
    """Rewrite ``path`` (an 8-bit truecolour PNG) as an indexed PNG of at most 256 colours."""
    chunks = _chunks(path.read_bytes())
    header = next(body for kind, body in chunks if kind == b"IHDR")
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    if depth != 8 or colour_type not in _CHANNELS:
        return  # already indexed, or a form screenshots do not come in
    channels = _CHANNELS[colour_type]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    rows = _unfiltered(raw, width, height, channels)
    pixels = [[bytes(row[x * channels : x * channels + 3]) for x in range(width)] for row in rows]
    palette = [colour for colour, _ in Counter(p for row in pixels for p in row).most_common(256)]
    index = {colour: i for i, colour in enumerate(palette)}

    def nearest(colour: bytes) -> int:
        if (found := index.get(colour)) is None:
            found = min(
                range(len(palette)), key=lambda i: sum((a - b) ** 2 for a, b in zip(palette[i], colour, strict=True))
            )
            index[colour] = found
        return found

    scanlines = b"".join(b"\x00" + bytes(nearest(p) for p in row) for row in pixels)
    path.write_bytes(
        _SIGNATURE
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
        + _chunk(b"PLTE", b"".join(palette))
        + _chunk(b"IDAT", zlib.compress(scanlines, 9))
        + _chunk(b"IEND", b"")
    )
