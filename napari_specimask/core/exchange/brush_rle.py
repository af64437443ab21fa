"""Label Studio's brush RLE, decoded and encoded here so importing needs no Label Studio
package.

Label Studio stores a brush region as the RGBA pixels of a full-size layer (height x width
x 4, flattened), run-length packed into a bit stream (the ``rle-pack`` format of
thi.ng/umbrella):

- header: 32 bits number of values, 5 bits word size - 1, 4 x 4 bits run-length field
  sizes - 1;
- then records until all values are out: 1 bit repeat flag, 2 bits which field size,
  that many bits ``n``; a repeat is one word written ``n + 1`` times, otherwise ``n + 1``
  words follow literally.

The mask is the alpha channel > 0 (Label Studio paints every brushed pixel opaque; its
own converter takes channel 3 too).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence

import numpy as np

from ..errors import SpecimaskError


class RLEError(SpecimaskError):
    """A brush RLE that cannot be decoded (truncated, corrupt or of another size)."""


class _BitReader:
    """Most-significant-bit-first reader over a byte string."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.nbits = len(data) * 8

    def read(self, n: int) -> int:
        end = self.pos + n
        if end > self.nbits:
            raise RLEError(f"brush RLE ends early (needs bit {end}, has {self.nbits})")
        first, last = self.pos >> 3, (end + 7) >> 3
        chunk = int.from_bytes(self.data[first:last], "big")
        self.pos = end
        return (chunk >> (last * 8 - end)) & ((1 << n) - 1)

    def read_words(self, count: int, size: int) -> np.ndarray:
        """``count`` words of ``size`` bits at once (literal runs can be long)."""
        end = self.pos + count * size
        if end > self.nbits:
            raise RLEError(f"brush RLE ends early (needs bit {end}, has {self.nbits})")
        first = self.pos >> 3
        raw = np.frombuffer(self.data, np.uint8, count=((end + 7) >> 3) - first, offset=first)
        bits = np.unpackbits(raw)[self.pos - first * 8 : end - first * 8]
        self.pos = end
        weights = np.left_shift(np.int64(1), np.arange(size - 1, -1, -1, dtype=np.int64))
        return bits.reshape(count, size).astype(np.int64) @ weights


def _as_bytes(rle: Sequence[int] | str | bytes) -> bytes:
    if isinstance(rle, bytes):
        return rle
    if isinstance(rle, str):  # some tools pass the stream base64-encoded
        try:
            return base64.b64decode(rle, validate=True)
        except ValueError:
            raise RLEError("brush RLE is a string but not base64") from None
    if not isinstance(rle, (list, tuple)):  # bytes(5) would be five zero bytes
        raise RLEError("brush RLE must be a list of bytes (integers 0-255)")
    try:
        return bytes(rle)
    except (TypeError, ValueError):
        raise RLEError("brush RLE must be a list of bytes (integers 0-255)") from None


def _runs(rle) -> tuple[int, int, Iterator[tuple[int, int, int | None, np.ndarray | None]]]:
    """(number of values, word size, records as (start, end, repeated word, literals))."""
    reader = _BitReader(_as_bytes(rle))
    num = reader.read(32)
    word = reader.read(5) + 1
    sizes = [reader.read(4) + 1 for _ in range(4)]

    def records():
        i = 0
        while i < num:
            repeat = reader.read(1)
            j = i + 1 + reader.read(sizes[reader.read(2)])
            if j > num:
                raise RLEError(f"brush RLE runs past its {num} values (corrupt data)")
            if repeat:
                yield i, j, reader.read(word), None
            else:
                yield i, j, None, reader.read_words(j - i, word)
            i = j

    return num, word, records()


def decode_rle(rle: Sequence[int] | str | bytes) -> np.ndarray:
    """Every value of the stream (flattened RGBA for a brush), as unsigned integers."""
    num, word, records = _runs(rle)
    dtype = np.uint8 if word <= 8 else np.uint16 if word <= 16 else np.uint32
    out = np.zeros(num, dtype)
    for i, j, value, literal in records:
        out[i:j] = value if literal is None else literal
    return out


def brush_mask(rle: Sequence[int] | str | bytes, height: int, width: int) -> np.ndarray:
    """The brushed pixels as a bool (height, width) mask: alpha > 0.

    Only the alpha channel is kept while decoding, so a 50 MP scan needs 50 MB, not 200.
    """
    num, _, records = _runs(rle)
    if num != height * width * 4:
        raise RLEError(f"brush RLE holds {num} values, but a {width} x {height} px RGBA "
                       f"layer has {height * width * 4}; the export is corrupt or its "
                       "original_width/original_height are wrong")
    alpha = np.zeros(height * width, bool)
    for i, j, value, literal in records:
        # alpha values sit at flat positions 4k + 3; k runs from i // 4 to j // 4
        if literal is None:
            alpha[i // 4 : j // 4] = value > 0
        else:
            first = (3 - i) % 4
            alpha[i // 4 : j // 4] = literal[first::4] > 0
    return alpha.reshape(height, width)


def encode_rle(values: np.ndarray, word: int = 8, sizes: Sequence[int] = (3, 4, 8, 16)
               ) -> list[int]:
    """Pack values as Label Studio does (repeats only; singles as 1-long literals).

    For tests and for sending masks back to Label Studio as pre-annotations.
    """
    values = np.asarray(values).ravel()
    bits = [f"{len(values):032b}", f"{word - 1:05b}"] + [f"{s - 1:04b}" for s in sizes]
    if len(values):
        change = np.flatnonzero(values[1:] != values[:-1]) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [len(values)]])
        for start, end in zip(starts.tolist(), ends.tolist()):
            value, left = int(values[start]), end - start
            while left:
                code = next((k for k, s in enumerate(sizes) if left <= 1 << s), 3)
                n = min(left, 1 << sizes[code])
                flag = "1" if n > 1 else "0"
                bits.append(f"{flag}{code:02b}{n - 1:0{sizes[code]}b}{value:0{word}b}")
                left -= n
    stream = "".join(bits)
    stream += "0" * (-len(stream) % 8)
    return [int(stream[k : k + 8], 2) for k in range(0, len(stream), 8)]


def mask_to_rle(mask: np.ndarray) -> list[int]:
    """A bool mask as a Label Studio brush RLE (white, opaque where True)."""
    layer = np.repeat(np.where(np.asarray(mask, bool), 255, 0).astype(np.uint8).ravel(), 4)
    return encode_rle(layer)
