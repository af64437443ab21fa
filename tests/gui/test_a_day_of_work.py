"""A day's work in napari is never misfiled or lost, driven as a person works: paint, then
open another project, close the window, or have napari killed; type numbers into forms.

Old code: *Open project…* left project 1's image and stroke on the canvas, and Alt-S then
filed them in project 2 as a verified mask; closing napari dropped the edits without a
question; a killed napari lost everything since the last save; the previous project's
overlays stayed over the new one's sheets; "256" typed over 512 became 3256.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QMessageBox

pytestmark = pytest.mark.gui

ALT = Qt.KeyboardModifier.AltModifier


@pytest.fixture
def two_projects(tmp_path):
    """Two small demo projects whose images have the same ids and sizes."""
    from napari_specimask.core.demo.project import create_demo_project
    from napari_specimask.core.progress import run

    roots = []
    for name, seed in (("one", 1), ("two", 2)):
        run(create_demo_project(tmp_path / name, n_herbarium=3, n_plankton=3,
                                seed=seed)).close()
        roots.append(tmp_path / name)
    return roots


def _paint(viewer) -> np.ndarray:
    """A stroke that changes the mask, wherever it lands; returns the mask painted."""
    labels = viewer.layers["mask"]
    labels.brush_size = 5
    labels.paint((12, 12), 1 - int(labels.data[12, 12]))
    return labels.data > 0


def _verified(project, image_id):
    return [a for a in project.annotations(image_id) if a["origin"] != "coldstart"]


def _show_first(qtbot, session, idle, annotate):
    """A first batch of two, selected as Active learning does (with their proposals);
    the first is shown. Gives its id."""
    from napari_specimask.core.active.queue import select_next
    from napari_specimask.core.progress import run

    chosen = [i for i, _ in run(select_next(session.project, "random", 2)).chosen]
    session.set_queue(chosen)
    idle(annotate)
    return chosen[0]


@pytest.mark.parametrize(("mode", "answer"), [("save", None), ("ask", "Save"),
                                              ("ask", "Discard"), ("ask", "Cancel")])
def test_paint_then_open_another_project(docked, qtbot, idle, monkeypatch, two_projects,
                                         mode, answer):
    from napari_specimask.core.store.project import Project

    one, two = two_projects
    viewer, w, session = docked(one)
    annotate = w["Annotate"]
    annotate.on_move.setCurrentText(mode)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or
                        getattr(QMessageBox.StandardButton, answer or "Save"))
    first = _show_first(qtbot, session, idle, annotate)
    painted = _paint(viewer)
    w["Project"].open_project(two)
    idle(annotate)
    assert bool(asked) == (mode == "ask") and all("Open another project" in q for q in asked)
    with Project.open(one) as p1, Project.open(two) as p2:
        assert _verified(p2, first) == []  # nothing of project 1 ever lands in project 2
        saved = _verified(p1, first)
        if answer in (None, "Save"):
            assert [a["origin"] for a in saved] == ["corrected"]
            assert np.array_equal(p1.load_mask(first), painted)  # into its own project
        else:
            assert saved == []
    if answer == "Cancel":  # the person stays: project 1, its image and the stroke
        assert session.project.root == one.resolve() and annotate.image_id == first
        assert np.array_equal(viewer.layers["mask"].data > 0, painted)
        return
    assert session.project.root == two.resolve()
    assert annotate.canvas is None and session.canvas is None
    assert [ly.name for ly in viewer.layers] == []  # project 1's layers are gone
    click = qtbot.keyClick
    click(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_S, ALT)  # Alt-S: nothing shown
    idle(annotate)
    with Project.open(two) as p2:
        assert _verified(p2, first) == []


def test_new_project_leaves_nothing_of_the_old_one(docked, qtbot, idle, two_projects,
                                                  tmp_path, trained_demo):
    """Old code: a new project with no model under the old sheet, its proposal and the
    old model's probability, uncertainty and prediction layers."""
    viewer, w, session = docked(trained_demo)
    w["Predictions"].tta.setValue(1)
    w["Predictions"].show_probability.setChecked(True)
    annotate = w["Annotate"]
    _show_first(qtbot, session, idle, annotate)
    qtbot.waitUntil(lambda: {"probability", "uncertainty", "prediction"} <= {
        ly.name for ly in viewer.layers} or "prediction" in viewer.layers, timeout=60_000)
    w["Project"].new_project(tmp_path / "fresh", two_projects[0] / "images" / "pool")
    assert [ly.name for ly in viewer.layers] == [] and annotate.canvas is None
    qtbot.waitUntil(lambda: session.canvas is not None, timeout=60_000)  # its first image
    assert session.canvas.project is session.project
    assert {ly.name for ly in viewer.layers} == {"image", "mask"}  # no overlay of v001
    qtbot.waitUntil(lambda: "No active model" in w["Predictions"].info.text())


@pytest.mark.parametrize(("mode", "answer", "closes"), [
    ("save", None, True), ("ask", "Save", True), ("ask", "Discard", True),
    ("ask", "Cancel", False)])
def test_paint_then_close_the_window(docked, qtbot, idle, monkeypatch, two_projects, mode,
                                     answer, closes):
    from qtpy.QtCore import QEvent, QObject

    from napari_specimask.core.store.project import Project

    one, _ = two_projects
    viewer, w, session = docked(one)

    class Napari(QObject):  # installed before Annotate's guard, so it sees what passes
        reached = False

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Close:
                Napari.reached = True
            return False

    napari_side = Napari()
    viewer.window._qt_window.installEventFilter(napari_side)
    annotate = w["Annotate"]
    annotate.on_move.setCurrentText(mode)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: getattr(
        QMessageBox.StandardButton, answer or "Save"))
    first = _show_first(qtbot, session, idle, annotate)
    painted = _paint(viewer)
    viewer.window._qt_window.close()  # the close button, File › Close Window, Quit
    assert Napari.reached == closes  # Cancel: napari never learns of the close
    with Project.open(one) as p1:
        saved = _verified(p1, first)
        assert bool(saved) == (answer in (None, "Save"))
        if saved:
            assert np.array_equal(p1.load_mask(first), painted)
    if not closes:  # napari stays open with the stroke, still unsaved
        assert annotate.edited and session.project is not None


def test_a_script_closing_the_viewer_cannot_be_refused_and_saves(docked, qtbot, idle,
                                                                 two_projects):
    """``viewer.close()`` tears napari down before its window closes: no Cancel there."""
    from napari_specimask.core.store.project import Project

    one, _ = two_projects
    viewer, w, session = docked(one)
    first = _show_first(qtbot, session, idle, w["Annotate"])
    painted = _paint(viewer)
    viewer.close()
    with Project.open(one) as p1:
        assert np.array_equal(p1.load_mask(first), painted)


PAINTER = """
import sys
import napari
from napari_specimask._launch import dock_widgets
from napari_specimask._widgets._session import session_for

root, image_id = sys.argv[1], int(sys.argv[2])
viewer = napari.Viewer()  # on the (virtual) screen, as a person has it
widgets = dock_widgets(viewer)
session = session_for(viewer)
session.open(root)
session.set_queue([image_id])
app = napari.qt.get_qapp()
while session.canvas is None:
    app.processEvents()
labels = viewer.layers["mask"]
labels.brush_size = 7
labels.paint((15, 15), 1 - int(labels.data[15, 15]))
print("painted", flush=True)
napari.run()  # painting is over: the draft is staged at the pause, then SIGKILL
"""


def test_napari_killed_mid_painting_offers_the_edits_back(docked, qtbot, idle, monkeypatch,
                                                          two_projects, tmp_path):
    one, _ = two_projects
    from napari_specimask.core.store.project import Project

    with Project.open(one) as p:
        first = p.images(role="pool")[0].id
    script = tmp_path / "painter.py"
    script.write_text(textwrap.dedent(PAINTER))
    env = {**os.environ, "SPECIMASK_AUTHOR": "ana"}
    painter = subprocess.Popen([sys.executable, str(script), str(one), str(first)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert painter.stdout.readline().strip() == "painted", painter.stderr.read()
        db = sqlite3.connect(one / "specimask.db", timeout=30)
        end = time.monotonic() + 60
        while not db.execute("SELECT COUNT(*) FROM drafts").fetchone()[0]:
            assert time.monotonic() < end and painter.poll() is None, "no draft was staged"
            time.sleep(0.1)  # polling a state the process writes once, not racing it
        db.close()
    finally:
        painter.send_signal(signal.SIGKILL)
        painter.wait(30)
    assert painter.returncode == -signal.SIGKILL

    monkeypatch.setenv("SPECIMASK_AUTHOR", "ana")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or
                        QMessageBox.StandardButton.Yes)
    viewer, w, session = docked(one)
    annotate = w["Annotate"]
    _show_first(qtbot, session, idle, annotate)
    assert len(asked) == 1 and "never saved" in asked[0] and "Restore" in asked[0]
    with Project.open(one) as p:
        draft = p.store.read_one("SELECT png FROM drafts")[0]
        assert _verified(p, first) == []  # offered back, not saved behind the person
    from napari_specimask.core.store.drafts import find_draft

    restored = viewer.layers["mask"].data > 0
    assert annotate.edited and "restored your unsaved edits" in annotate.status.text()
    with Project.open(one) as p:
        assert np.array_equal(restored, find_draft(p, first, "ana").mask()) and draft
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_S, ALT)
    idle(annotate)
    with Project.open(one) as p:
        assert np.array_equal(p.load_mask(first), restored)
        assert p.store.read_one("SELECT COUNT(*) FROM drafts")[0] == 0  # the save took it


def test_numbers_typed_into_the_train_form_land_as_typed(docked, qtbot, demo):
    viewer, w, session = docked(demo)
    size = w["Train"].form.img_size
    size.value = 512
    field = size.native
    field.lineEdit().selectAll()
    qtbot.keyClicks(field.lineEdit(), "256")
    qtbot.keyClick(field.lineEdit(), Qt.Key.Key_Return)
    assert size.value == 256 and w["Train"].config().img_size == 256  # old: 3256
    assert session.training.img_size == 256  # the session trains with what was typed


def test_the_click_tool_note_goes_with_undo_save_and_next(queue_batch, docked, qtbot, idle,
                                                          demo):
    viewer, w, session = docked(demo)
    queue_batch(session)
    annotate, canvas = w["Annotate"], viewer.window._qt_viewer.canvas.native
    labels = viewer.layers["mask"]
    data = np.zeros_like(labels.data)
    data[5:20, 5:20] = 1
    labels.data = data

    def remove_blob():
        viewer.cursor.position = (10.0, 10.0)
        qtbot.keyClick(canvas, Qt.Key.Key_X, ALT)
        assert "remove blob" in annotate.tool_note.text()

    remove_blob()
    labels.undo()
    assert annotate.tool_note.text() == ""
    remove_blob()
    qtbot.keyClick(canvas, Qt.Key.Key_S, ALT)
    assert annotate.tool_note.text() == ""
    idle(annotate)
    labels.data = data
    remove_blob()
    qtbot.keyClick(canvas, Qt.Key.Key_Right, ALT)
    idle(annotate)
    assert annotate.tool_note.text() == ""


def test_save_and_next_hands_the_mask_over_and_nothing_writes_to_it_meanwhile(
        queue_batch, docked, qtbot, idle, demo, monkeypatch):
    """Alt-N gives the save the mask layer's own array (a copy of a 54 MP mask held the
    GUI thread up to 300 ms); a click tool pressed before the next image is shown must
    not land on it (old code: it changed the image being left)."""
    viewer, w, session = docked(demo)
    first, second, _ = queue_batch(session)
    annotate, canvas = w["Annotate"], viewer.window._qt_viewer.canvas.native
    labels = viewer.layers["mask"]
    painted = np.zeros_like(labels.data)
    painted[5:20, 5:20] = 1
    labels.data = painted
    annotate._canvas_changed()
    handed, save = [], annotate.writes.save
    monkeypatch.setattr(annotate.writes, "save", lambda canvas, shot, **kw: handed.append(
        shot.mask is painted) or save(canvas, shot, **kw))
    qtbot.keyClick(canvas, Qt.Key.Key_N, ALT)
    assert handed == [True] and not labels.editable  # held until the next is shown
    viewer.cursor.position = (10.0, 10.0)
    qtbot.keyClick(canvas, Qt.Key.Key_X, ALT)  # remove blob, on the image being left
    assert annotate.tool_note.text() == ""
    idle(annotate)
    assert session.canvas.image_id == second and labels.editable
    assert labels.data is not painted  # the layer paints the next image's own array
    assert np.array_equal(session.project.load_mask(first), painted > 0)


def test_a_save_and_next_that_cannot_show_the_next_image_paints_a_copy(
        queue_batch, docked, qtbot, idle, demo, monkeypatch):
    viewer, w, session = docked(demo)
    first, second, _ = queue_batch(session)
    annotate = w["Annotate"]
    labels = viewer.layers["mask"]
    painted = np.zeros_like(labels.data)
    painted[5:20, 5:20] = 1
    labels.data = painted
    annotate._canvas_changed()
    monkeypatch.setattr(annotate.prefetcher, "request",
                        lambda key, cb: cb(OSError(f"{key}: unreadable")) or True)
    annotate.save_and_next()
    idle(annotate)
    assert session.canvas.image_id == first and labels.editable  # stays, brush back
    assert labels.data is not painted  # the array the save was handed is left alone
    assert np.array_equal(labels.data, painted)
    labels.data[30:40, 30:40] = 1
    annotate._canvas_changed()
    assert annotate.edited and np.array_equal(session.project.load_mask(first), painted > 0)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
@pytest.mark.parametrize("how", ["specimask gui", "Plugins menu"])
def test_the_window_fits_the_screen_with_every_tab_name_in_view(make_napari_viewer, qtbot,
                                                                 size, how):
    """Old code: from the Plugins menu the seven docks stacked in one column (3,259 px
    tall); tabbed, Train's 1,048 px minimum forced 1,113 px on a 1,000 px screen; with
    the dock narrow, tab names were cut to 'Pr…'."""
    from qtpy.QtWidgets import QDockWidget, QTabBar

    from napari_specimask._launch import PLUGIN, WIDGETS, dock_widgets
    from napari_specimask._widgets._dock import readable_tabs

    viewer = make_napari_viewer()
    window = viewer.window._qt_window
    if how == "specimask gui":
        dock_widgets(viewer)
    else:  # one by one, as a person opens them from Plugins › specimask
        for name in WIDGETS:
            viewer.window.add_plugin_dock_widget(PLUGIN, name)
            qtbot.wait(10)
    qtbot.wait(50)  # the docks join the tabs once napari has placed them
    window.resize(*size)
    window.layout().setGeometry(window.rect())  # laid out as when shown (kept off screen)
    readable_tabs(window)
    window.layout().setGeometry(window.rect())
    qtbot.wait(50)
    hint = window.minimumSizeHint()
    assert hint.height() <= size[1] - 60 and hint.width() <= size[0]  # room for a taskbar
    assert (window.width(), window.height()) == size  # nothing forces it larger
    (bar,) = [b for b in window.findChildren(QTabBar) if b.count() == len(WIDGETS)]
    assert sorted(bar.tabText(i) for i in range(bar.count())) == sorted(WIDGETS)
    assert bar.elideMode() == Qt.TextElideMode.ElideNone
    whole = sum(bar.tabRect(i).width() for i in range(bar.count()))
    docks = {d.windowTitle(): d.width() for d in window.findChildren(QDockWidget)
             if d.windowTitle() in WIDGETS}
    assert min(docks.values()) >= whole  # every name in view, none behind scroll arrows
