"""Post-processing a folder of mask files (``specimask postprocess``)."""

from __future__ import annotations

import threading
from pathlib import Path

from ..errors import SpecimaskError
from ..io.files import Skipped, list_files
from ..io.images import read_mask, write_mask_png
from ..progress import Job, Progress, stopped
from .postprocess import PostProcess

PREDICTION_MAP_DIRS = ("probability", "uncertainty")


def postprocess_folder(mask_dir: str | Path, out_dir: str | Path, post: PostProcess,
                       stop: threading.Event | None = None) -> Job[list[Skipped]]:
    """Apply ``post`` to every mask under ``mask_dir``, mirrored under ``out_dir`` as PNG.

    Bad masks are skipped and returned (path, reason); the rest are written atomically.
    The probability and uncertainty maps ``specimask predict`` writes beside its masks
    (``probability/``, ``uncertainty/``) are not masks and are left out.
    """
    mask_dir, out_dir = Path(mask_dir), Path(out_dir)
    if out_dir.resolve() == mask_dir.resolve():
        raise SpecimaskError(f"{out_dir}: --out must differ from the input folder")
    files = [f for f in list_files(mask_dir)
             if f.relative_to(mask_dir).parts[0] not in PREDICTION_MAP_DIRS]
    skipped: list[Skipped] = []
    for i, path in enumerate(files):
        if stopped(stop):
            break
        yield Progress(i, len(files), path.name)
        try:
            mask = read_mask(path, max_pixels=None)
        except SpecimaskError as exc:
            skipped.append(Skipped(str(path), str(exc.reason if hasattr(exc, "reason") else exc)))
            continue
        target = out_dir / path.relative_to(mask_dir).with_suffix(".png")
        write_mask_png(target, post(mask))
    yield Progress(len(files), len(files), "done")
    return skipped
