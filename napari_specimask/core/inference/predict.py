"""Prediction: probability maps, masks and (with TTA) uncertainty at original size.

Images are letterboxed to the model size and go through the network in batches with
their TTA views (channels-last, inference mode, on the GPU when there is one). Plain
prediction is TTA with the identity view only.

``predict_to_folder`` (``specimask predict``) runs the pipeline: worker processes decode
each image at the smallest scale that covers the model input (``inference.pipeline``)
while the network runs, and others map the outputs back and write them (1-bit PNG masks,
optional maps: ``inference.writer``); a run is resumable (``inference.manifest``).
``predict_images`` is the per-image path that yields original-size float maps, for the
GUI's prediction cache and the simulated loop.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..devices import Ranks, one_process
from ..errors import SpecimaskError
from ..faults import crash_point
from ..io.files import list_files
from ..io.images import is_image_path, read_image, to_rgb8
from ..io.naming import output_names
from ..masks.letterbox import Letterbox
from ..masks.postprocess_folder import PREDICTION_MAP_DIRS
from ..model.weights import ModelConfig, load_model
from ..progress import Job, Progress, stopped
from ..store.project import Project
from .manifest import begin, folder_lock, run_key, write_manifest
from .pipeline import (
    ImageDataset,
    batches_of,
    make_loader,
    network_batches,
    prepare_model,
    worker_count,
)
from .tta import View, make_views, to_unit_tensor, tta_probabilities, uncertainty
from .writer import MAPS_NONE, OutputSpec, WritePool, parse_maps

DEFAULT_WORKERS = 2  # processes decoding and as many writing (0: all in this one)
__all__ = ["Prediction", "PredictReport", "default_device", "predict_images",
           "predict_to_folder"]


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Prediction:
    key: str                          # output name (image stem)
    probability: np.ndarray           # (H, W) float32 at the original size
    source: Path
    uncertainty: np.ndarray | None = None  # (H, W) float32 in [0, 1], with TTA


def predict_images(model, config: ModelConfig, paths: Iterable[Path], device=None,
                   batch_size: int = 8, max_pixels: int | None = None,
                   on_skip: Callable[[Path, str], None] | None = None,
                   views: list[View] | None = None, measure: str = "jsd",
                   precision: str | None = None) -> Iterator[Prediction]:
    """Yield an original-size probability map (and, with several views, an uncertainty
    map) per readable image; unreadable ones go to ``on_skip(path, reason)``.

    ``batch_size`` counts network inputs, so with V views each call takes batch_size // V
    images. Precision: fp32 on CPU unless asked, mixed on CUDA (masks are written here).
    """
    device = device or default_device()
    views = views or [View()]
    precision = precision or ("auto" if device.type == "cuda" else "32")
    model = prepare_model(model, device)
    per_call = max(1, batch_size // len(views))
    batch: list[tuple[Path, Letterbox, np.ndarray]] = []

    def flush():
        probs = tta_probabilities(model, to_unit_tensor([b for _, _, b in batch]), views,
                                  config.mean, config.std, device, precision)
        mean = probs.mean(0).cpu().numpy()
        unc = uncertainty(probs, measure).cpu().numpy() if len(views) > 1 else None
        for i, (path, lb, _) in enumerate(batch):
            yield Prediction(path.stem, lb.invert(mean[i]), path,
                             lb.invert(unc[i]) if unc is not None else None)
        batch.clear()

    for path in paths:
        try:
            img = to_rgb8(read_image(path, max_pixels))
        except SpecimaskError as exc:
            if on_skip is None:
                raise
            on_skip(path, str(exc))
            continue
        lb = Letterbox.fit(*img.shape[:2], config.img_size)
        batch.append((path, lb, lb.apply(img)))
        del img
        if len(batch) == per_call:
            yield from flush()
    if batch:
        yield from flush()


@dataclass
class PredictReport:
    version: str
    out_dir: Path
    written: list[str] = field(default_factory=list)  # output names (under out_dir)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (input, output name)
    kept: int = 0        # images whose outputs an interrupted run had already written
    note: str = ""       # resumed, or what replaced an earlier run's outputs
    maps: tuple[str, ...] = ()  # map kinds written beside the masks
    stopped: bool = False  # by a stop request, on any rank
    ranks: int = 1         # processes the run was shared among
    seconds: list[float] = field(default_factory=list)  # each rank's time predicting
    peak_gpu_bytes: list[int] = field(default_factory=list)  # each rank's, on a GPU


def predict_to_folder(project: Project, out_dir: str | Path, version: str | None = None,
                      images_dir: str | Path | None = None, batch_size: int = 8,
                      threshold: float = 0.5, device=None, tta: int = 1,
                      measure: str = "jsd", stop: threading.Event | None = None,
                      maps: str | int = MAPS_NONE, workers: int | None = DEFAULT_WORKERS,
                      restart: bool = False, ranks: Ranks | None = None) -> Job[PredictReport]:
    """Write ``OUT/<name>.png`` (mask, 1-bit PNG), with ``maps`` ``OUT/probability/<name>.png``
    (x 255) and, with ``tta`` > 1, ``OUT/uncertainty/<name>.png`` for every project image or
    every image under ``images_dir``. ``maps``: "none" (masks only: nothing in specimask
    reads the maps), "full" (maps at the image's size) or their long side in px. The name
    is the stem unless two inputs share it (``io.naming.output_names``; the renames are
    reported). A re-run with the same model
    and options finishes what is missing (``restart``: all again); with others it says
    so and overwrites (``inference.manifest``). With ``ranks`` of a run over several
    devices or nodes (``devices.join``) each rank predicts its share and rank
    zero alone plans, writes the manifest and returns the whole run's report."""
    ranks = ranks or one_process()
    device = ranks.device or device or default_device()
    views, maps = make_views(tta), _maps(maps)
    model, config, version = load_model(project, version, device)
    paths = _inputs(project, images_dir)
    out_dir = Path(out_dir)
    if images_dir is not None and out_dir.resolve() == Path(images_dir).resolve():
        raise SpecimaskError(f"{out_dir}: --out must differ from the images folder")
    spec = OutputSpec(out_dir, threshold, maps, uncertainty=len(views) > 1)
    names, renamed = output_names(paths, images_dir, reserved=PREDICTION_MAP_DIRS)
    report = PredictReport(version, out_dir, maps=spec.kinds[1:], ranks=ranks.world)
    source = str(Path(images_dir).resolve()) if images_dir is not None else "project"
    key = run_key(version, config, spec, tta, measure, source)
    with folder_lock(out_dir) if ranks.is_zero else contextlib.nullcontext():
        todo, report.note = ranks.broadcast(begin(spec, key, names, paths, restart)
                                            if ranks.is_zero else None).get()
        report.kept = len(paths) - len(todo)
        run = _Run(model, config, views, device, paths, names, spec, measure)
        began = time.perf_counter()
        yield from run.go(todo, batch_size, project.settings.images.max_pixels, workers,
                          report, stop, ranks)
        _merge(report, ranks.gather((report.written, report.skipped, stopped(stop),
                                     round(time.perf_counter() - began, 3),
                                     _peak_gpu_bytes(device))))
        renamed_from = {name: src for src, name in renamed}
        report.renamed = [(renamed_from[n], n) for n in report.written if n in renamed_from]
        if ranks.is_zero:
            write_manifest(out_dir, key, outputs=list(spec.kinds), images=len(paths),
                           complete=not report.stopped,
                           masks=report.kept + len(report.written), skipped=report.skipped,
                           processes=report.ranks, seconds=report.seconds,
                           peak_gpu_memory_bytes=report.peak_gpu_bytes)
    yield Progress(len(paths), len(paths), "done")
    return report


def _merge(report: PredictReport, parts: list) -> None:
    """Every rank's outputs and figures in rank zero's report (in one process, its own)."""
    written, skipped, was_stopped, seconds, peak = zip(*parts)
    report.written = [n for part in written for n in part]
    report.skipped = [s for part in skipped for s in part]
    report.stopped = any(was_stopped)
    report.seconds = list(seconds)
    report.peak_gpu_bytes = [p for p in peak if p is not None]


def _peak_gpu_bytes(device: torch.device) -> int | None:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


def _inputs(project: Project, images_dir: str | Path | None) -> list[Path]:
    if images_dir is not None:
        paths = [p for p in list_files(images_dir) if is_image_path(p)]
    else:
        paths = [project.image_path(r) for r in project.images()]
    if not paths:
        raise SpecimaskError(f"no images to predict in {images_dir or project.root}")
    return paths


def _maps(maps: str | int) -> str | int:
    try:
        return parse_maps(maps)
    except ValueError as exc:
        raise SpecimaskError(str(exc)) from None


@dataclass
class _Run:
    """One pass of the pipeline over the images still to do."""

    model: torch.nn.Module
    config: ModelConfig
    views: list[View]
    device: torch.device
    paths: Sequence[Path]
    names: Sequence[str]
    spec: OutputSpec
    measure: str

    def go(self, todo: set[int], batch_size: int, max_pixels: int | None,
           workers: int | None, report: PredictReport,
           stop: threading.Event | None, ranks: Ranks) -> Job[None]:
        """Predict this rank's share of ``todo``: in the batches an uninterrupted
        one-process run would make (so a resumed or distributed run gives the same
        pixels), writing only the missing images of each. Progress counts the whole run
        in one process, this rank's share in several."""
        per_call = max(1, batch_size // len(self.views))
        share = ranks.share(batches_of(range(len(self.paths)), per_call))
        batches = [b for b in share if todo.intersection(b)]
        if ranks.world == 1:
            base, total = report.kept, len(self.paths)
        else:
            base, total = 0, sum(len(todo.intersection(b)) for b in batches)
        n = worker_count(workers, sum(map(len, batches)), per_call)
        dataset = ImageDataset(self.paths, self.config.img_size, max_pixels)
        loader = make_loader(dataset, batches, n, pin_memory=self.device.type == "cuda")
        precision = "auto" if self.device.type == "cuda" else "32"
        model = prepare_model(self.model, self.device)
        outputs = network_batches(model, self.config, loader, self.views, self.device,
                                  precision, self.measure)
        pool = WritePool(self.spec, n)
        try:
            for maps in outputs:
                for name in self._submit(maps, todo, pool, report):
                    yield self._written(name, report, base, total)
                if stopped(stop):
                    break
            for name in pool.drain():
                yield self._written(name, report, base, total)
        finally:
            outputs.close()  # ends the loader's workers now, not at garbage collection
            pool.close()

    def _submit(self, maps, todo: set[int], pool: WritePool,
                report: PredictReport) -> Iterator[str]:
        for it in maps.batch.items:
            if it.error is not None:
                report.skipped.append((str(self.paths[it.index]), it.error))
        for j, it in enumerate(maps.batch.readable):
            if it.index in todo:
                unc = None if maps.uncertainty is None else maps.uncertainty[j]
                yield from pool.submit(self.names[it.index], it.letterbox, maps.mean[j], unc)

    @staticmethod
    def _written(name: str, report: PredictReport, base: int, total: int) -> Progress:
        report.written.append(name)
        crash_point("predict.written")
        return Progress(base + len(report.written) + len(report.skipped), total, name)
