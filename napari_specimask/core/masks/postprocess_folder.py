"""Post-processing a folder of mask files (``specimask postprocess``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SpecimaskError
from ..io.files import Skipped, list_files
from ..io.images import read_mask, write_mask_png
from ..io.naming import output_names
from ..progress import Job, Progress, stopped
from .postprocess import PostProcess

PREDICTION_MAP_DIRS = ("probability", "uncertainty")


@dataclass
class PostprocessReport:
    written: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (input, output name)


def postprocess_folder(mask_dir: str | Path, out_dir: str | Path, post: PostProcess,
                       stop: threading.Event | None = None) -> Job[PostprocessReport]:
    """Apply ``post`` to every mask under ``mask_dir``, mirrored under ``out_dir`` as PNG.

    Bad masks are skipped (path, reason); the rest are written atomically, over the
    files of an earlier run. ``x.png`` and ``x.tif`` would both be ``x.png``: they become
    ``x__png.png`` and ``x__tif.png`` (reported). The probability and uncertainty maps
    ``specimask predict`` writes beside its masks (``probability/``, ``uncertainty/``)
    are not masks and are left out.
    """
    mask_dir, out_dir = Path(mask_dir), Path(out_dir)
    if out_dir.resolve() == mask_dir.resolve():
        raise SpecimaskError(f"{out_dir}: --out must differ from the input folder")
    files = [f for f in list_files(mask_dir)
             if f.relative_to(mask_dir).parts[0] not in PREDICTION_MAP_DIRS]
    names, renamed = output_names(files, mask_dir, keep_folders=True)
    renamed_from = {name: src for src, name in renamed}
    report = PostprocessReport()
    for i, (path, name) in enumerate(zip(files, names)):
        if stopped(stop):
            break
        yield Progress(i, len(files), path.name)
        try:
            mask = read_mask(path, max_pixels=None)
        except SpecimaskError as exc:
            report.skipped.append(Skipped(str(path), str(getattr(exc, "reason", exc))))
            continue
        write_mask_png(out_dir / f"{name}.png", post(mask))
        report.written.append(out_dir / f"{name}.png")
        if name in renamed_from:  # report only what was written
            report.renamed.append((renamed_from[name], name))
    yield Progress(len(files), len(files), "done")
    return report
