"""A project of many images in the window: the table reads the rows on screen, not all."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QTabBar

from napari_specimask._launch import dock_widgets
from napari_specimask._widgets import _image_table
from napari_specimask._widgets._session import session_for
from napari_specimask.core.store.db import now
from napari_specimask.core.store.overview import TableQuery
from napari_specimask.core.store.project import Project

N = 20_000


@pytest.fixture
def big(tmp_path):
    """N image rows; only the last one's file exists (nothing else should be read)."""
    root = tmp_path / "big"
    with Project.create(root) as project:
        with project.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO images (id, relpath, sha256, height, width, bytes, status,"
                " added_at) VALUES (?, ?, ?, 32, 48, 1, ?, ?)",
                [(i, f"images/{i:06d}.png", f"{i:064x}",
                  "labeled" if i % 1000 == 0 else "unlabeled", now())
                 for i in range(1, N + 1)])
    (root / "images").mkdir()
    Image.fromarray(np.full((32, 48, 3), 90, np.uint8)).save(root / f"images/{N:06d}.png")
    return root


def click_tab(qtbot, viewer, name: str) -> None:
    """Click the dock tab called ``name``, as a person does (once Qt has laid it out)."""
    def find():
        for bar in viewer.window._qt_window.findChildren(QTabBar):
            for i in range(bar.count()):
                if bar.tabText(i) == name:
                    return bar, bar.tabRect(i).center()
        return None

    qtbot.waitUntil(lambda: find() is not None, timeout=5000)
    bar, pos = find()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=pos)


def test_a_big_project_opens_sorts_filters_and_shows_an_image_by_pages(
        make_napari_viewer, qtbot, big, monkeypatch):
    read = []
    rows_of = _image_table.rows_of
    monkeypatch.setattr(_image_table, "rows_of",
                        lambda project, ids: read.append(len(ids)) or rows_of(project, ids))
    viewer = make_napari_viewer(show=True)  # painted, as on a screen
    w = dock_widgets(viewer)
    w["Project"].open_project(big)
    session = session_for(viewer)
    table, model = w["Project"].table, w["Project"].model
    qtbot.waitUntil(lambda: model.rowCount() == N, timeout=10_000)
    assert f"{N:,} images, 20 labelled" in w["Project"].title.text()
    assert read == []  # behind another tab: nothing read yet
    click_tab(qtbot, viewer, "Project")
    qtbot.waitUntil(lambda: bool(read), timeout=5000)
    assert sum(read) <= 2 * _image_table.PAGE  # the rows on screen, not 20,000

    with qtbot.waitSignal(model.loaded, timeout=10_000):  # ordered in a worker thread
        table.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # by name, last first
    assert model.index(0, 1).data() == f"images/{N:06d}.png"
    read.clear()
    table.scrollToBottom()
    qtbot.wait(50)
    assert model.index(N - 1, 1).data() == "images/000001.png"
    assert sum(read) <= 3 * _image_table.PAGE

    qtbot.keyClicks(w["Project"].filter, "labeled")
    qtbot.waitUntil(lambda: model.rowCount() == N // 1000, timeout=10_000)
    assert model.index(0, 0).data() == str(N)  # still by name, last first

    with qtbot.waitSignal(session.show_requested, timeout=5000):
        table.doubleClicked.emit(model.index(0, 0))
    qtbot.waitUntil(lambda: w["Annotate"].image_id == N, timeout=10_000)
    assert viewer.layers["image"].data.shape[:2] == (32, 48)


def test_the_order_asked_for_last_wins_over_one_still_running(docked, qtbot, demo,
                                                              monkeypatch):
    viewer, w, session = docked(demo)
    model = w["Project"].model
    qtbot.waitUntil(lambda: model.rowCount() > 0 and not model.loading, timeout=5000)
    shown = model.image_id(0)
    started, release = threading.Event(), threading.Event()
    ordered_ids = _image_table.ordered_ids

    def slow_by_name(project, query):  # sorting by name takes long this time
        if query.sort == "image":
            started.set()
            release.wait(10)
        return ordered_ids(project, query)

    by_name = ordered_ids(session.project, TableQuery(sort="image", descending=True))
    by_id = ordered_ids(session.project, TableQuery(sort="id", descending=True))
    assert by_name.tolist() != by_id.tolist()
    orders = []  # every order the table showed from here on
    model.loaded.connect(lambda: orders.append(model.ids.tolist()))
    monkeypatch.setattr(_image_table, "ordered_ids", slow_by_name)
    w["Project"].table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert started.wait(5)  # the sort by name is running in the table's thread
    w["Project"].table.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # changed their mind
    qtbot.wait(50)  # the GUI thread goes on meanwhile, showing the rows it had
    assert model.loading and model.image_id(0) == shown
    release.set()  # the sort by name ends: too late, the newer order is read and shown
    qtbot.waitUntil(lambda: not model.loading, timeout=5000)
    assert model.image_id(0) == max(session.project.image_ids())
    assert model.query.sort == "id" and model.query.descending
    model._orderer.submit(lambda: None).result(timeout=5)  # nothing else was queued
    qtbot.wait(50)
    assert orders == [by_id.tolist()]  # the sort by name was never shown
