"""Freeing disk: removing model versions' weights and cached predictions.

A resnet34 Unet weighs ~98 MB and a grid search trains one per combination, so a laptop
fills up. Removal keeps each version's record (provenance, the history plot and the
comparison with its parent still name it, with its val Dice), its config and metrics;
only the weights and the predictions cached with them go.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SpecimaskError
from ..io.atomic import TMP_MARK
from ..progress import Job, Progress, stopped
from ..store.project import CACHE_DIR, MODELS_DIR, Project
from ..store.registry import list_models, mark_removed, unknown_version

WEIGHT_FILES = ("weights.safetensors",)


@dataclass
class Removal:
    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0


def folder_bytes(folder: Path) -> int:
    """Bytes in the files under ``folder`` (0 when it does not exist)."""
    total = 0
    for top, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile
                total += os.stat(os.path.join(top, name)).st_size
    return total


def weights_bytes(project: Project, version: str) -> int:
    """What the version's model folder holds (its weights, mostly): cheap, a few files."""
    return folder_bytes(project.root / MODELS_DIR / version)


def version_bytes(project: Project, version: str) -> int:
    """Model folder and cached predictions: what a version costs on disk."""
    return weights_bytes(project, version) + folder_bytes(project.root / CACHE_DIR / version)


STILL_WRITING_S = 600  # a 'training' version written to this recently is taken as alive


def check_removable(project: Project, versions: list[str], force: bool = False) -> None:
    """Refuse, naming the version and the fix, before anything is deleted."""
    models = {m["version"]: m for m in list_models(project)}
    for v in versions:
        if v not in models:
            raise unknown_version(project, v, list(models))
        if models[v]["active"]:
            raise SpecimaskError(f"{v} is the active model; activate another version first "
                                 f"(`specimask activate {project.root} VERSION`)")
        if models[v]["status"] == "training" and not models[v]["removed"]:
            if not force:
                raise SpecimaskError(
                    f"{v} is still training; stop it first (a version left 'training' by a "
                    "killed run can be removed with --force)")
            age = seconds_since_written(project.root / MODELS_DIR / v)
            if age < STILL_WRITING_S:
                raise SpecimaskError(
                    f"{v} was written {age:.0f} s ago: its training looks alive; stop it, or "
                    f"wait {STILL_WRITING_S // 60} minutes after a killed run")


def seconds_since_written(folder: Path) -> float:
    """Seconds since anything in ``folder`` changed (logs are written every step)."""
    stamps = [folder.stat().st_mtime] if folder.exists() else []
    for p in folder.rglob("*") if folder.exists() else ():
        with contextlib.suppress(OSError):
            stamps.append(p.stat().st_mtime)
    return time.time() - max(stamps) if stamps else float("inf")


def versions_beyond_best(project: Project, keep_best: int) -> list[str]:
    """Every version but the active one and the ``keep_best`` best by val Dice (those
    without a val Dice count as worst); versions still training are left alone."""
    if keep_best < 0:
        raise SpecimaskError(f"--keep-best {keep_best}: give how many versions to keep "
                             "(0 or more) besides the active one")
    models = [m for m in list_models(project)
              if not m["removed"] and not m["active"] and m["status"] != "training"]
    ranked = sorted(models, key=lambda m: -(m["metrics"].get("best_val_dice") or -1.0))
    keep = {m["version"] for m in ranked[:keep_best]}
    return [m["version"] for m in models if m["version"] not in keep]


def remove_versions(project: Project, versions: list[str], force: bool = False,
                    stop: threading.Event | None = None) -> Job[Removal]:
    """Remove the weights and cached predictions of ``versions``.

    Each version is marked removed in the store, under the write lock and only while it
    is still not active, before its files go: a crash midway leaves it marked, and
    running the removal again sweeps what is left.
    """
    versions = list(dict.fromkeys(versions))
    check_removable(project, versions, force)
    out = Removal()
    for i, v in enumerate(versions):
        if stopped(stop):
            break
        yield Progress(i, len(versions), f"removing {v}")
        if not mark_removed(project, v):  # activated by someone else since the check
            raise SpecimaskError(f"{v} became the active model meanwhile; nothing of it was "
                                 "removed")
        before = version_bytes(project, v)
        folder = project.root / MODELS_DIR / v
        for path in [folder / name for name in WEIGHT_FILES] + list(folder.glob(f"{TMP_MARK}*")):
            path.unlink(missing_ok=True)  # the weights, and a write a crash cut short
        shutil.rmtree(project.root / CACHE_DIR / v, ignore_errors=True)
        out.freed_bytes += before - version_bytes(project, v)
        out.removed.append(v)
    yield Progress(len(out.removed), len(versions), "done")
    return out
