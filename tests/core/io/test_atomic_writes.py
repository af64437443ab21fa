"""A mask write killed at any moment leaves the previous mask and its record intact."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from napari_specimask.core.store.project import Project

KILLER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from napari_specimask.core.io import atomic
    from napari_specimask.core.store import project as project_mod
    from napari_specimask.core.store.project import Project

    stage = sys.argv[2]
    def die(*a, **k):
        os.kill(os.getpid(), signal.SIGKILL)

    if stage == "during-encode":     # killed while the PNG bytes are being written
        real = project_mod.save_mask_png
        def half(path, mask):
            with open(path, "wb") as fh:
                fh.write(b"\\x89PNG half a file")
                fh.flush()
            die()
        project_mod.save_mask_png = half
    elif stage == "before-rename":   # temp complete, transaction open, rename not done
        project_mod.publish = die
    elif stage == "before-commit":   # renamed, record not yet committed
        real_publish = project_mod.publish
        def publish_then_die(tmp, target):
            real_publish(tmp, target)
            die()
        project_mod.publish = publish_then_die
    p = Project.open(sys.argv[1])
    p.save_mask(1, np.zeros((30, 40), bool), "corrected")
""")


@pytest.fixture
def labelled(tmp_path, rgb_image):
    from PIL import Image

    from napari_specimask.core.exchange.image_import import import_images
    from napari_specimask.core.progress import run

    (tmp_path / "imgs").mkdir()
    Image.fromarray(np.resize(rgb_image, (30, 40, 3))).save(tmp_path / "imgs" / "a.png")
    p = Project.create(tmp_path / "proj")
    run(import_images(p, tmp_path / "imgs"))
    first = np.zeros((30, 40), bool)
    first[5:20, 5:30] = True
    p.save_mask(1, first, "hand")
    p.close()
    return tmp_path / "proj", first


@pytest.mark.parametrize("stage", ["during-encode", "before-rename"])
def test_killed_write_keeps_previous_mask(labelled, stage):
    root, first = labelled
    result = subprocess.run([sys.executable, "-c", KILLER, str(root), stage])
    assert result.returncode == -9  # really killed
    debris = list((root / "masks").glob(".specimask-tmp-*"))
    with Project.open(root) as p:
        assert np.array_equal(p.load_mask(1), first)
        assert [a["origin"] for a in p.annotations(1)] == ["hand"]
    # a fresh temp may belong to a live writer in another process: kept until stale
    assert list((root / "masks").glob(".specimask-tmp-*")) == debris
    for path in debris:
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    Project.open(root).close()
    assert not list((root / "masks").glob(".specimask-tmp-*"))


def test_killed_after_rename_leaves_a_whole_mask(labelled):
    root, _ = labelled
    result = subprocess.run([sys.executable, "-c", KILLER, str(root), "before-commit"])
    assert result.returncode == -9
    with Project.open(root) as p:
        mask = p.load_mask(1)  # a complete, readable file: old or new, never half
        assert mask is not None and mask.shape == (30, 40)


def test_failed_write_leaves_target_untouched(tmp_path):
    from napari_specimask.core.io.atomic import atomic_path, atomic_write_bytes

    target = tmp_path / "settings.toml"
    atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half of the new")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]
