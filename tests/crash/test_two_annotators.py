"""Two `specimask annotate` processes saving the same queued batch at once: every save
either process acknowledged must be the image's current mask, recorded with its author;
the other process is told (refused with a reason, or left to the leaseholder)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from napari_specimask.core.io.images import read_mask
from napari_specimask.core.store.integrity import check_project
from napari_specimask.core.store.project import Project


def _masks_of(work, name, invert):
    folder = work / name
    if not folder.exists():
        folder.mkdir()
        for path in (work / "truth").iterdir():
            m = read_mask(path)
            Image.fromarray(((~m if invert else m) * 255).astype(np.uint8)).save(folder / path.name)
    return folder


def _acknowledged(out: str) -> list[str]:
    return [line[6:].rsplit(" (", 1)[0] for line in out.splitlines()
            if line.startswith("saved ") and " of " not in line]


def two_annotators(kill_loop, work, trial_dir):
    root = trial_dir / "proj"
    shutil.copytree(work / "queued", root)
    folders = {"alice": _masks_of(work, "alice", False), "bob": _masks_of(work, "bob", True)}
    procs = {who: kill_loop.specimask("annotate", root, "--masks", folder, "--author", who)
             for who, folder in folders.items()}
    outs = {who: p.communicate() for who, p in procs.items()}
    assert {p.returncode for p in procs.values()} <= {0, 1}, outs
    lost, acked = 0, {}
    with Project.open(root) as p:
        assert check_project(p) == []
        by_path = {r.relpath: r for r in p.images()}
        for who, (out, _err) in outs.items():
            for relpath in _acknowledged(out):
                assert relpath not in acked, f"{relpath} acknowledged to both annotators"
                acked[relpath] = who
                rec = by_path[relpath]
                want = read_mask(folders[who] / f"{rec.name}.png")
                latest = p.annotations(rec.id)[-1]
                lost += not (np.array_equal(p.load_mask(rec.id), want)
                             and latest["author"] == who)
        told = sum(err.count("not saved:") + out.count("left to another annotator")
                   for out, err in outs.values())
        assert len(acked) + told >= len(p.image_ids(status="labeled"))
    shutil.rmtree(root)
    return lost, len(acked), told


def test_two_annotators_lose_nothing(kill_loop, workspace, tmp_path):
    for _ in range(3):
        lost, saved, told = two_annotators(kill_loop, workspace, tmp_path)
        assert lost == 0
        assert saved == kill_loop.SIZE["batch"]  # every image saved once, by one of them


@pytest.mark.slow
def test_two_annotators_lose_nothing_over_20_trials(kill_loop, workspace, tmp_path):
    results = [two_annotators(kill_loop, workspace, tmp_path) for _ in range(20)]
    print("trials 20, lost", sum(r[0] for r in results), "saved", sum(r[1] for r in results),
          "refused or left to the other", sum(r[2] for r in results))
    assert sum(r[0] for r in results) == 0
