"""Walking a folder: what cannot be reached is reported, never dropped without a word."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from napari_specimask.cli import main
from napari_specimask.core.exchange.image_import import import_images
from napari_specimask.core.io.files import list_files
from napari_specimask.core.progress import run

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def scans(tmp_path, rgb_image):
    d = tmp_path / "scans"
    (d / "sub").mkdir(parents=True)
    Image.fromarray(rgb_image).save(d / "a.png")
    Image.fromarray(np.roll(rgb_image, 5, axis=1)).save(d / "sub" / "b.png")
    return d


def _reasons(skipped) -> dict[str, str]:
    return {os.path.basename(s.path): s.reason for s in skipped}


def test_symlink_loops_and_broken_links_are_reported(scans, tmp_path, rgb_image):
    (scans / "sub" / "up").symlink_to("..")  # a folder link back into the walk
    (scans / "self").symlink_to("self")  # a link to itself: never reaches a file
    (scans / "gone.png").symlink_to(tmp_path / "missing.png")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    Image.fromarray(rgb_image[:, ::2]).save(outside / "c.png")
    (scans / "linked").symlink_to(outside)  # a linked folder (no loop) is followed
    skipped = []
    files = list_files(scans, skipped)
    assert [p.relative_to(scans).as_posix() for p in files] == ["a.png", "linked/c.png",
                                                                 "sub/b.png"]
    why = _reasons(skipped)
    assert set(why) == {"up", "self", "gone.png"}
    assert why["up"].startswith("symbolic link loop") and str(scans) in why["up"]
    assert why["self"].startswith("symbolic link loop") and "self" in why["self"]
    assert why["gone.png"].startswith("broken symbolic link")


def test_import_report_lists_the_walk_and_the_cli_prints_it(project, scans, capsys):
    (scans / "loop").symlink_to(".")
    report = run(import_images(project, scans))
    assert len(report.added) == 2
    assert [(s.path, s.reason.split(":")[0]) for s in report.skipped] == [
        (str(scans / "loop"), "symbolic link loop")]
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(scans / "new.png")
    assert main(["import", str(project.root), str(scans)]) == 0
    out = capsys.readouterr().out
    assert f"  skipped {scans / 'loop'}: symbolic link loop" in out


def test_unreadable_folder_is_reported_without_root(scans, monkeypatch):
    """Root reads a mode-000 folder, so the OS's refusal is stood in for here."""
    real = os.scandir

    def scandir(path="."):
        if isinstance(path, (str, os.PathLike)) and os.fspath(path) == str(scans / "sub"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    skipped = []
    assert [p.name for p in list_files(scans, skipped)] == ["a.png"]
    assert _reasons(skipped) == {"sub": "folder not read, its files are left out: permission "
                                        "denied; make it readable (chmod a+rx) or run as its "
                                        "owner"}


@pytest.mark.skipif(AS_ROOT or os.name != "posix", reason="root reads a mode-000 folder")
def test_chmod_000_folder_is_reported(project, scans):
    locked = scans / "sub"
    locked.chmod(0)
    try:
        report = run(import_images(project, scans))
    finally:
        locked.chmod(0o755)
    assert len(report.added) == 1
    assert [(s.path, "permission denied" in s.reason) for s in report.skipped] == [
        (str(locked), True)]
