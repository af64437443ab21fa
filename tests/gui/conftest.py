"""GUI test plumbing shared by the widget tests.

napari comes with the ``test`` extra. Without it these tests are left out, with a note,
where a person runs a headless install; under CI (``CI`` set) that is an error, so a
broken install cannot pass by skipping the GUI.
"""

from __future__ import annotations

import os
import warnings

import pytest

try:
    import napari  # noqa: F401
except ImportError:
    if os.environ.get("CI"):
        raise ImportError("the GUI tests need napari: install the test extra "
                          "(bash scripts/setup.sh --test)") from None
    warnings.warn("napari is not installed: tests/gui is left out (install the test "
                  "extra to run it)", stacklevel=1)
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(autouse=True)
def _workers_end_before_the_folder_goes(tmp_path):
    """Background jobs a test leaves running (a prediction refresh after training) are
    stopped and awaited after the viewer closes and before pytest removes the test's
    folder (passing tests' folders are deleted: see tmp_path_retention_policy)."""
    yield
    from napari.qt.threading import WorkerBase

    WorkerBase.await_workers(msecs=60_000)


@pytest.fixture
def demo(tmp_path):
    """A small demo project (6 herbarium + 6 plankton images per role), closed."""
    from napari_specimask.core.demo.project import create_demo_project
    from napari_specimask.core.progress import run

    project = run(create_demo_project(tmp_path / "demo", n_herbarium=6, n_plankton=6))
    project.close()
    return tmp_path / "demo"


@pytest.fixture(scope="session")
def trained_demo_template(tmp_path_factory):
    """Built once per run: the demo project with 4 pool images verified and a tiny model
    (v001) active. Tests get a copy (``trained_demo``): each may change its project."""
    from napari_specimask.core.demo.project import create_demo_project
    from napari_specimask.core.io.images import read_mask
    from napari_specimask.core.progress import run
    from napari_specimask.core.store.registry import activate
    from napari_specimask.core.training.config import TrainConfig
    from napari_specimask.core.training.fit import train

    root = tmp_path_factory.mktemp("trained") / "demo"
    with run(create_demo_project(root, n_herbarium=6, n_plankton=6)) as p:
        for rec in p.images(role="pool")[:4]:
            p.save_mask(rec.id, read_mask(root / "truth" / f"{rec.name}.png"), "hand")
        cfg = TrainConfig.from_settings(p.settings, img_size=64, epochs=1, max_steps=2,
                                        batch_size=2, encoder_weights="none", patience=0)
        activate(p, train(p, cfg).version)
    return root


@pytest.fixture
def trained_demo(trained_demo_template, tmp_path):
    """A copy of the trained demo project of this run, for this test alone."""
    import shutil

    return shutil.copytree(trained_demo_template, tmp_path / "demo")


@pytest.fixture
def docked(make_napari_viewer):
    """``docked(root)``: a napari window with the seven widgets docked, Annotate in
    front, and ``root`` opened in the Project widget, as a person starts with
    `specimask gui`; gives (viewer, widgets by name, session). Not put on the screen:
    dozens of OpenGL windows opened and closed in one process crash Mesa's llvmpipe."""
    from napari_specimask._launch import dock_widgets, raise_tab
    from napari_specimask._widgets._session import session_for

    def open_window(root):
        viewer = make_napari_viewer()
        widgets = dock_widgets(viewer)
        raise_tab(viewer, "Annotate")
        widgets["Project"].open_project(root)
        return viewer, widgets, session_for(viewer)

    return open_window


@pytest.fixture
def queue_batch(qtbot):
    """``queue_batch(session, n)``: a random batch of ``n`` chosen and queued in Annotate,
    as Active learning's Select does; gives the queued ids once the first is shown."""
    from napari_specimask.core.active.queue import select_next
    from napari_specimask.core.progress import run

    def queue(session, n=3):
        chosen = [i for i, _ in run(select_next(session.project, "random", n)).chosen]
        session.set_queue(chosen)
        qtbot.waitUntil(lambda: session.canvas is not None
                        and session.canvas.image_id == chosen[0], timeout=30_000)
        return chosen

    return queue


@pytest.fixture
def idle(qtbot):
    """``idle(annotate)``: wait until Annotate shows the image it was last asked for and
    its saves, drafts and leases are written: both happen off the GUI thread."""

    def wait(annotate, timeout: int = 30_000):
        qtbot.waitUntil(lambda: annotate.loading is None and annotate.writes.pending == 0,
                        timeout=timeout)

    return wait
