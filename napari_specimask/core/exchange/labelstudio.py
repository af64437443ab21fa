"""Label Studio's JSON export: its tasks, their image file names and brush results.

The brush pixels themselves are decoded by ``brush_rle``; ``labelstudio_import`` pairs
the tasks with project images and saves the masks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np

from ..errors import SpecimaskError
from ..io.images import is_image_path
from .brush_rle import RLEError, brush_mask

UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-", re.IGNORECASE)  # Label Studio's upload id
BRUSH_TYPES = ("brushlabels", "brush")


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
    problem: str | None = None  # what is malformed in the task (its mask is skipped)


class TaskError(SpecimaskError):
    """A task of the export that is not shaped as Label Studio writes it."""


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
    except OSError as exc:
        raise SpecimaskError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecimaskError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); "
                             "export the project from Label Studio as JSON") from None
    except RecursionError:
        raise SpecimaskError(f"{path}: JSON nested too deeply to be a Label Studio "
                             "export") from None
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
    try:
        parsed = urlparse(value)
    except ValueError:  # e.g. an unclosed "[" in the host part
        return PurePosixPath(value.replace("\\", "/")).name
    local = parse_qs(parsed.query).get("d")
    path = local[0] if local else unquote(parsed.path)
    return PurePosixPath(path.replace("\\", "/")).name


def strip_upload_prefix(name: str) -> str:
    """``ab12cd34-leaf1.jpg`` -> ``leaf1.jpg`` (Label Studio's prefix on uploaded files)."""
    return UPLOAD_PREFIX.sub("", name, count=1)


def brush_tasks(tasks: list[dict], label: str | None = None) -> list[BrushTask]:
    """The brush results of each task's latest non-cancelled annotation (``label`` only);
    a malformed task gets its ``problem`` said, and the others go on."""
    out = []
    for index, task in enumerate(tasks):
        names, source = task_names(task)
        item = BrushTask(index, task.get("id"), names, source)
        out.append(item)
        try:
            _choose(item, _listed(task, "annotations", "its"), label)
        except TaskError as exc:
            item.problem = str(exc)
    return out


def _choose(item: BrushTask, annotations: list, label: str | None) -> None:
    annotations = [a for a in annotations if isinstance(a, dict)]
    live = [a for a in annotations if not a.get("was_cancelled")]
    if not live:
        item.note = ("its only annotation was cancelled (skipped)" if annotations
                     else "no annotations")
        return
    order = sorted(range(len(live)), key=lambda k: (_stamp(live[k]), k))
    chosen = live[order[-1]]
    item.annotation_id = chosen.get("id")
    item.author = _author(chosen.get("completed_by"))
    results = _listed(chosen, "result", "its latest annotation's")
    item.results = [r for r in results if _is_brush(r, label)]
    for result in item.results:
        result_size(result)  # a malformed size is the task's problem, said now
    if not item.results:
        what = f"no brush result labelled {label!r}" if label else "no brush results"
        item.note = f"{what} in its latest annotation"


def _listed(obj: dict, key: str, where: str) -> list:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TaskError(f"{where} {key!r} is {_shown(value)}, not a list; export from Label "
                        "Studio with the 'JSON' format")
    return value


def labels_in(tasks: list[dict]) -> list[str]:
    """Every brush label used anywhere in the export (for 'unknown label' messages)."""
    found = set()
    for task in tasks:
        annotations = task.get("annotations")
        for ann in annotations if isinstance(annotations, list) else []:
            results = ann.get("result") if isinstance(ann, dict) else None
            for r in results if isinstance(results, list) else []:
                if _is_brush(r, None):
                    found.update(_labels(r))
    return sorted(found)


def result_size(result: dict) -> tuple[int, int]:
    """(width, height) a brush result says its image has, checked to be whole pixels."""
    size = []
    for key in ("original_width", "original_height"):
        value = result.get(key)
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            number = float("nan")
        if isinstance(value, bool) or not (number.is_integer() and number >= 1):
            said = "is missing" if value is None else f"is {_shown(value)}"
            raise TaskError(f"a brush result's {key} {said}, not a whole number of pixels; "
                            "export from Label Studio again")
        size.append(int(number))
    return size[0], size[1]


def result_mask(result: dict) -> tuple[np.ndarray, int, int]:
    """Decode one brush result: (mask, width, height)."""
    value = result.get("value") or {}
    fmt = value.get("format", "rle")
    if fmt != "rle":
        raise RLEError(f"brush format {_shown(fmt)} is not supported (only 'rle')")
    width, height = result_size(result)
    return brush_mask(value.get("rle", []), height, width), width, height


def _shown(value) -> str:
    """A JSON value as a message shows it: short, on one line."""
    text = json.dumps(value) if isinstance(value, (int, float, str, bool)) else None
    return text if text and len(text) <= 40 else f"a {type(value).__name__}"


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
