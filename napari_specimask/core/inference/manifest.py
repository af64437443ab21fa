"""Resumable prediction runs: the manifest a run leaves in its output folder, and what a
re-run still has to do.

``OUT/.specimask-predict.json`` says which model version (and weights) and which options
(threshold, TTA, measure, maps, mask format) produced the files in ``OUT``, from which
images, how many, and whether the run finished. It is written atomically when a run
starts and when it ends. A re-run with the same model and options skips every image whose
outputs are all there (each file is written whole or not at all, so being there means
being complete) and not older than the image; with another model or options it says so,
predicts every image again and removes the maps of those images it no longer writes, so
a folder never mixes two runs' outputs. A lock file keeps two runs out of one folder.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import SpecimaskError
from ..io.atomic import atomic_write_bytes, remove_stale_temps
from .writer import MASK_FORMAT, OutputSpec

MANIFEST = ".specimask-predict.json"
LOCK = ".specimask-predict.lock"
FORMAT = 1


def run_key(version: str, config, spec: OutputSpec, tta: int, measure: str,
            source: str) -> dict:
    """What decides the outputs' pixels: equal keys, interchangeable files."""
    return {"model_version": version, "weights_sha256": config.weights_sha256,
            "model": {"arch": config.arch, "encoder": config.encoder,
                      "img_size": config.img_size},
            "options": {"threshold": spec.threshold, "tta": tta,
                        "measure": measure if tta > 1 else None, "maps": spec.maps,
                        "mask_format": MASK_FORMAT},
            "source": source}


def read_manifest(out_dir: Path) -> dict | None:
    path = Path(out_dir) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):  # none yet, or not ours: a fresh run
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def write_manifest(out_dir: Path, key: dict, **fields) -> None:
    data = {"format": FORMAT, "tool": "specimask predict", **key, **fields,
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    atomic_write_bytes(Path(out_dir) / MANIFEST, (json.dumps(data, indent=1) + "\n").encode())


def differences(old: dict, key: dict) -> list[str]:
    """What differs between an earlier run's manifest and this run's key, in words."""
    said = []
    if old.get("model_version") != key["model_version"] or \
            old.get("weights_sha256") != key["weights_sha256"]:
        said.append(f"model {old.get('model_version')} -> {key['model_version']}")
    for name, value in key["options"].items():
        before = (old.get("options") or {}).get(name)
        if before != value:
            said.append(f"{name} {before} -> {value}")
    if old.get("source") != key["source"]:
        said.append(f"images {old.get('source')} -> {key['source']}")
    return said


def is_done(spec: OutputSpec, name: str, source: Path) -> bool:
    """Every output of ``name`` there, none older than its image."""
    try:
        born = os.stat(source).st_mtime
        return all(os.stat(spec.path(kind, name)).st_mtime >= born for kind in spec.kinds)
    except OSError:
        return False


def plan(spec: OutputSpec, key: dict, names: Sequence[str], sources: Sequence[Path],
         restart: bool = False) -> tuple[set[int], str]:
    """The indices still to predict, and a note for the person (empty when none)."""
    old = read_manifest(spec.out_dir)
    everything = set(range(len(names)))
    if old is None or restart:
        return everything, ""
    changed = differences(old, key)
    if changed:
        gone = [k for k in old.get("outputs", []) if k not in spec.kinds]
        for kind in gone:
            for name in names:
                spec.path(kind, name).unlink(missing_ok=True)
        removed = f"; their {', '.join(gone)} maps removed" if gone else ""
        return everything, (f"{spec.out_dir} held another run's outputs "
                            f"({', '.join(changed)}): all {len(names)} image(s) predicted "
                            f"again{removed}")
    todo = {i for i in everything if not is_done(spec, names[i], sources[i])}
    if len(todo) < len(names):
        return todo, (f"resuming: {len(names) - len(todo)} of {len(names)} image(s) already "
                      f"predicted in {spec.out_dir} with these options")
    return todo, ""


@dataclass
class Plan:
    """Rank zero's plan, or the error that stopped it (raised on every rank, so none
    waits for a plan that never comes)."""

    todo: set[int] = field(default_factory=set)
    note: str = ""
    error: str | None = None

    def get(self) -> tuple[set[int], str]:
        if self.error is not None:
            raise SpecimaskError(self.error)
        return self.todo, self.note


def begin(spec: OutputSpec, key: dict, names: Sequence[str], paths: Sequence[Path],
           restart: bool) -> Plan:
    """What is left to do; a killed run's temp files removed; the manifest says a run
    with these options is under way."""
    try:
        todo, note = plan(spec, key, names, paths, restart)
        remove_temps(spec, names)
        write_manifest(spec.out_dir, key, outputs=list(spec.kinds), images=len(paths),
                       complete=False)
    except (SpecimaskError, OSError) as exc:
        return Plan(error=str(exc))
    return Plan(todo, note)


def remove_temps(spec: OutputSpec, names: Sequence[str]) -> None:
    """Temp files a killed run left in the output folders (the lock is held: none is
    being written now)."""
    folders = {spec.path(kind, n).parent for n in names for kind in spec.kinds}
    for folder in folders:
        remove_stale_temps(folder, older_than=0.0)


@contextlib.contextmanager
def folder_lock(out_dir: Path) -> Iterator[None]:
    """One prediction run per output folder at a time (released by the kernel when the
    process ends, however it ends)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SpecimaskError(f"{out_dir}: another prediction run is writing there; "
                                 "wait for it to end or give another --out") from None
        yield
    finally:
        os.close(fd)
