"""Two napari windows on one project, used like two people: each window's image is leased
to it, Next passes over the other's, and a save over the other's newer save asks first;
and what a window says when it opens a project a killed process left untidy."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui

from qtpy.QtCore import Qt  # noqa: E402


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _two_windows(docked, demo):
    a, b = docked(demo), docked(demo)
    ids = [r.id for r in a[2].project.images(role="pool")][:3]
    return a, b, ids


def test_next_passes_over_the_image_another_window_holds(docked, qtbot, demo, idle):
    (va, wa, sa), (vb, wb, sb), ids = _two_windows(docked, demo)
    ana, ben = wa["Annotate"], wb["Annotate"]
    ana.author.setText("ana")
    sa.set_queue(ids)  # ana is on the first image
    idle(ana)
    assert ana.image_id == ids[0]
    sb.set_queue(ids)  # ben opens the same batch: its first image is ana's
    idle(ben)
    assert "ana is annotating it" in ben.status.text()
    click(qtbot, ben.buttons["next"])
    idle(ben)
    assert ben.image_id == ids[1]
    click(qtbot, ana.buttons["next"])  # ana moves on: ben holds the second
    idle(ana)
    assert ana.image_id == ids[2]
    ana.close()  # a closed window frees its lease
    click(qtbot, ben.buttons["next"])
    idle(ben)
    assert ben.image_id == ids[2]


@pytest.mark.parametrize("answer", ["No", "Yes"])
def test_saving_over_a_newer_save_asks(docked, qtbot, demo, monkeypatch, idle, answer):
    from qtpy.QtWidgets import QMessageBox

    (va, wa, sa), (vb, wb, sb), ids = _two_windows(docked, demo)
    ana, ben = wa["Annotate"], wb["Annotate"]
    ana.author.clear()
    qtbot.keyClicks(ana.author, "ana")
    ben.author.setText("ben")
    sa.set_queue(ids[:1])
    sb.set_queue(ids[:1])  # both have the image open before anyone saved
    idle(ana)
    idle(ben)
    va.layers["mask"].paint((3, 3), 1)
    click(qtbot, ana.buttons["save"])
    idle(ana)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or
                        getattr(QMessageBox.StandardButton, answer))
    vb.layers["mask"].paint((20, 20), 1)
    click(qtbot, ben.buttons["save"])
    idle(ben)
    assert asked and "ana saved a mask for this image" in asked[0]
    rows = sa.project.annotations(ids[0])
    authors = [r["author"] for r in rows if r["origin"] != "coldstart"]
    assert authors == (["ana"] if answer == "No" else ["ana", "ben"])
    if answer == "No":
        assert "not saved" in ben.status.text()
    asked.clear()
    vb.layers["mask"].paint((25, 25), 1)  # ben's window now knows what it saved (or not)
    click(qtbot, ben.buttons["save"])
    idle(ben)
    assert bool(asked) == (answer == "No")


def test_opening_says_in_one_line_what_a_kill_left(docked, demo, monkeypatch):
    from napari_specimask._widgets import _session
    from napari_specimask.core.store.project import Project

    with Project.open(demo) as p:
        nxt = p.store.read_one("SELECT MAX(id) + 1 FROM annotations")[0]
    (demo / "annotations" / f"{nxt}.png").write_bytes(b"a save killed before COMMIT")
    said = []
    monkeypatch.setattr(_session, "show_warning", said.append)
    docked(demo)
    assert len(said) == 1 and f"removed annotations/{nxt}.png" in said[0]
    assert not (demo / "annotations" / f"{nxt}.png").exists()
