"""Label Studio's JSON export: decode brush masks and pair tasks with project images.

Label Studio stores a brush region as the RGBA pixels of a full-size layer (height x width
x 4, flattened), run-length packed into a bit stream (the ``rle-pack`` format of
thi.ng/umbrella). Our own decoder reads it, so importing needs no Label Studio package:

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
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np

from ..errors import SpecimaskError
from ..io.images import is_image_path

UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-", re.IGNORECASE)  # Label Studio's upload id
BRUSH_TYPES = ("brushlabels", "brush")


class RLEError(SpecimaskError):
    """A brush RLE that cannot be decoded (truncated, corrupt or of another size)."""


# -- the RLE ---------------------------------------------------------------------------


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


# -- the export ------------------------------------------------------------------------


@dataclass
class BrushTask:
    """One exported task reduced to what an import needs."""

    index: int  # position in the export (tasks may lack an id)
    task_id: object
    names: list[str]  # candidate image file names, best first
    source: str  # what the task said, for messages
    annotation_id: object = None
    author: str | None = None
    results: list[dict] = field(default_factory=list)  # brush results of the chosen annotation
    note: str | None = None  # why nothing can be imported (no annotation, cancelled, ...)


def load_export(path: str | Path) -> list[dict]:
    """The task list of a Label Studio JSON export, with errors that say what to export."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecimaskError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise SpecimaskError(f"{path}: not a text file; export the project from Label "
                             "Studio as JSON") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecimaskError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); "
                             "export the project from Label Studio as JSON") from None
    if isinstance(data, dict) and "data" in data:
        data = [data]  # a single task
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise SpecimaskError(f"{path}: expected a list of tasks; export from Label Studio "
                             "with the 'JSON' format (not JSON-MIN, CSV or COCO)")
    if data and not any("annotations" in t or "data" in t for t in data):
        raise SpecimaskError(f"{path}: the tasks have no 'data'/'annotations'; export from "
                             "Label Studio with the 'JSON' format (not JSON-MIN)")
    return data


def task_names(task: dict) -> tuple[list[str], str]:
    """Candidate image file names of a task: the image URL's file name, then the upload."""
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    values = [data["image"]] if isinstance(data.get("image"), str) else []
    values += [v for k, v in data.items() if k != "image" and isinstance(v, str)
               and _looks_like_image(v)]
    if isinstance(task.get("file_upload"), str):
        values.append(task["file_upload"])
    names = list(dict.fromkeys(n for n in (_file_name(v) for v in values) if n))
    return names, (values[0] if values else "(no image in task data)")


def _looks_like_image(value: str) -> bool:
    return is_image_path(_file_name(value) or "")


def _file_name(value: str) -> str:
    """``/data/upload/1/ab12cd34-leaf1.jpg``, URLs and ``/data/local-files/?d=dir/leaf1.jpg``
    to the file name."""
    parsed = urlparse(value)
    local = parse_qs(parsed.query).get("d")
    path = local[0] if local else unquote(parsed.path)
    return PurePosixPath(path.replace("\\", "/")).name


def strip_upload_prefix(name: str) -> str:
    """``ab12cd34-leaf1.jpg`` -> ``leaf1.jpg`` (Label Studio's prefix on uploaded files)."""
    return UPLOAD_PREFIX.sub("", name, count=1)


def brush_tasks(tasks: list[dict], label: str | None = None) -> list[BrushTask]:
    """The brush results of each task's latest non-cancelled annotation (``label`` only)."""
    out = []
    for index, task in enumerate(tasks):
        names, source = task_names(task)
        item = BrushTask(index, task.get("id"), names, source)
        out.append(item)
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
        live = [a for a in annotations if not a.get("was_cancelled")]
        if not live:
            item.note = ("its only annotation was cancelled (skipped)" if annotations
                         else "no annotations")
            continue
        order = sorted(range(len(live)), key=lambda k: (_stamp(live[k]), k))
        chosen = live[order[-1]]
        item.annotation_id = chosen.get("id")
        item.author = _author(chosen.get("completed_by"))
        item.results = [r for r in chosen.get("result") or [] if _is_brush(r, label)]
        if not item.results:
            what = f"no brush result labelled {label!r}" if label else "no brush results"
            item.note = f"{what} in its latest annotation"
    return out


def labels_in(tasks: list[dict]) -> list[str]:
    """Every brush label used anywhere in the export (for 'unknown label' messages)."""
    found = set()
    for task in tasks:
        for ann in task.get("annotations") or []:
            for r in (ann.get("result") or []) if isinstance(ann, dict) else []:
                if _is_brush(r, None):
                    found.update(_labels(r))
    return sorted(found)


def result_mask(result: dict) -> tuple[np.ndarray, int, int]:
    """Decode one brush result: (mask, width, height)."""
    value = result.get("value") or {}
    fmt = value.get("format", "rle")
    if fmt != "rle":
        raise RLEError(f"brush format {fmt!r} is not supported (only 'rle')")
    try:
        width, height = int(result["original_width"]), int(result["original_height"])
    except (KeyError, TypeError, ValueError):
        raise RLEError("brush result lacks original_width/original_height") from None
    return brush_mask(value.get("rle", []), height, width), width, height


def _is_brush(result, label: str | None) -> bool:
    if not isinstance(result, dict) or str(result.get("type", "")).lower() not in BRUSH_TYPES:
        return False
    value = result.get("value")
    if not isinstance(value, dict) or "rle" not in value:
        return False
    return label is None or label in _labels(result)


def _labels(result: dict) -> list[str]:
    labels = result["value"].get("brushlabels") or result["value"].get("labels") or []
    return [str(x) for x in labels] if isinstance(labels, list) else [str(labels)]


def _stamp(annotation: dict) -> str:
    return str(annotation.get("updated_at") or annotation.get("created_at") or "")


def _author(completed_by) -> str | None:
    if isinstance(completed_by, dict):
        email = completed_by.get("email")
        if email:
            return str(email)
        completed_by = completed_by.get("id")
    if completed_by is None or completed_by == "":
        return None
    return f"labelstudio:{completed_by}"
