"""A real `specimask predict` killed part way (at a crash point, by SIGKILL from outside, by
Ctrl-C) leaves only whole files and no process behind, and running it again finishes with
exactly the files of a run never interrupted.

Signals from outside are sent while the run is paused at a crash point
(``SPECIMASK_PAUSE_AT``), never after a guessed delay: a fast run would otherwise finish
before the signal and the test would say nothing, or fail, by chance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from napari_specimask.core.faults import KILL_AT, PAUSE_AT
from napari_specimask.core.io.atomic import TMP_MARK
from napari_specimask.core.io.images import read_image, read_mask

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="process groups and /proc")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A project whose active model is a random Unet/resnet18 at 64 px, 16 demo images
    (PNG and JPEG), and the outputs of an uninterrupted run."""
    import torch

    from napari_specimask.core.demo.samples import demo_samples
    from napari_specimask.core.model.factory import create_model
    from napari_specimask.core.model.weights import ModelConfig, save_weights
    from napari_specimask.core.store.project import Project
    from napari_specimask.core.store.registry import activate, finish_version, new_version

    work = tmp_path_factory.mktemp("predict_kill")
    images = work / "images"
    images.mkdir()
    for s in demo_samples(n_herbarium=4, n_plankton=4, seed=5):
        Image.fromarray(s.image).save(images / f"{s.name}.png")
        Image.fromarray(s.image).save(images / f"{s.name}_j.jpg", quality=90)
    with Project.create(work / "p") as project:
        torch.manual_seed(0)
        config = ModelConfig(encoder="resnet18", img_size=64)
        version = new_version(project, None, 0, [], asdict(config))
        save_weights(project.root / "models" / version,
                     create_model("unet", "resnet18", None).state_dict(), config)
        finish_version(project, version, "ready", {})
        activate(project, version)
    reference = work / "reference"
    assert _predict(work, reference).wait(120) == 0
    return work, _files(reference)


# A shell without job control starts a background command with SIGINT ignored (CI may
# start the suite so), and Python then leaves it ignored: Ctrl-C would never arrive. As
# a terminal runs `specimask`, SIGINT is at its default, and Python makes it
# KeyboardInterrupt.
AS_FROM_A_TERMINAL = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, '-m', 'napari_specimask', *sys.argv[1:]])")


def _predict(work: Path, out: Path, workers: int = 2, kill_at: str | None = None,
             pause_at: str | None = None):
    env = {k: v for k, v in os.environ.items() if k not in (KILL_AT, PAUSE_AT)}
    env.update({k: v for k, v in ((KILL_AT, kill_at), (PAUSE_AT, pause_at)) if v})
    return subprocess.Popen(
        [sys.executable, "-c", AS_FROM_A_TERMINAL, "predict", str(work / "p"), "--images",
         str(work / "images"), "--out", str(out), "--batch-size", "2", "--workers",
         str(workers), "--tta", "2"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.png"))
            if not p.name.startswith(".")}


def _group_gone(pgid: int, within: float = 20.0) -> bool:
    """True once no live process of the group is left (workers included; zombies
    waiting for whoever adopted them do not count)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not _live_members(pgid):
            return True
        time.sleep(0.2)
    return False


def _live_members(pgid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _whole(out: Path) -> list[str]:
    """Problems with what a killed run left: every file there must read in full."""
    problems = []
    for p in out.rglob("*.png"):
        if p.name.startswith(TMP_MARK):
            continue  # a temp file, never seen by readers; the next run removes it
        try:
            (read_mask if p.parent == out else read_image)(p, max_pixels=None)
        except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
            problems.append(f"{p}: {exc}")
    return problems


def _wait_until_paused(proc, within: float = 120.0) -> None:
    """Wait for the run to stop itself at its pause point (state T in /proc): an event
    the process makes, so the signal the test sends next lands at a known moment."""
    end = time.monotonic() + within
    stat = Path(f"/proc/{proc.pid}/stat")
    while time.monotonic() < end and proc.poll() is None:
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "T":
            return
        time.sleep(0.05)
    pytest.fail(f"the run never reached its pause point (exit {proc.poll()})")


def _rerun(work: Path, out: Path, reference: dict, workers: int = 2) -> None:
    again = _predict(work, out, workers)
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr[-2000:]
    assert "resuming:" in stdout and "already there" in stdout
    assert _files(out) == reference
    assert not list(out.rglob(f"{TMP_MARK}*"))
    masks = [read_mask(p) for p in sorted(out.glob("*.png"))]
    assert len(masks) == 16 and all(m.dtype == np.bool_ for m in masks)


def test_killed_at_crash_points_then_rerun_gives_the_same_files(setup, tmp_path):
    """Killed after acknowledging 5 images (2 workers), then, resumed in one process,
    killed with a file staged but not yet renamed into place; then finished."""
    work, reference = setup
    out = tmp_path / "out"
    done = 0
    for point, workers in (("predict.written:5", 2), ("predict.staged:7", 0)):
        proc = _predict(work, out, workers, kill_at=point)
        assert proc.wait(120) == -signal.SIGKILL, proc.stderr.read()[-2000:]
        assert _group_gone(proc.pid), f"worker processes outlived the run killed at {point}"
        masks = len(list(out.glob("*.png")))
        assert done < masks < 16, (point, done, masks)
        assert _whole(out) == []
        done = masks
    assert list(out.rglob(f"{TMP_MARK}*")), "the last kill was meant to leave a temp file"
    _rerun(work, out, reference, workers=0)


def test_stopped_from_outside_then_rerun_gives_the_same_files(setup, tmp_path):
    """SIGKILL to the main process alone (as a pre-emption might: the workers must end
    by themselves), then Ctrl-C (SIGINT to the whole group, as a terminal sends it) to
    the resumed run; then finished. Each signal is sent while the run is paused after a
    few masks, so each lands part way, whatever the machine's speed."""
    work, reference = setup
    out = tmp_path / "out"
    proc = _predict(work, out, pause_at="predict.written:3")
    _wait_until_paused(proc)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    assert _group_gone(proc.pid), "worker processes outlived the killed run"
    assert _whole(out) == []
    first = len(list(out.glob("*.png")))
    assert 3 <= first < 16
    proc = _predict(work, out, pause_at="predict.written:2")
    _wait_until_paused(proc)
    os.killpg(proc.pid, signal.SIGINT)
    os.kill(proc.pid, signal.SIGCONT)  # the pending Ctrl-C is handled as it goes on
    assert proc.wait(60) == 130, proc.stderr.read()[-2000:]
    assert "run the same command again" in proc.stderr.read()
    assert _group_gone(proc.pid), "worker processes outlived the interrupted run"
    assert _whole(out) == []
    assert first < len(list(out.glob("*.png"))) < 16
    _rerun(work, out, reference)
