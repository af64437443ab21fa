"""Two people on one project of real herbarium sheets, for docs/project.md and the user guide.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/shared_project_screenshots.py \
        [--sheets ../shared/data/violaceae_pool]

Makes a project of six sheets with otsu cold-start proposals and queues three. Window
"ana" opens the batch; window "ben" opens the same batch, lands on ana's sheet (the status
line says so) and steps on; then both open one sheet, ana saves, ben paints and saves and
is asked. Saves docs/images/shared_lease.png (ben's window) and shared_conflict.png (the
question, grabbed from the real dialog, answered No).
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import tempfile
from pathlib import Path

from _screens import idle
from gui_screenshots import OUT

ROOT = Path(__file__).resolve().parents[1]


def make_project(sheets: Path, scratch: Path) -> Path:
    from napari_specimask.cli import main as specimask

    images = scratch / "sheets"
    images.mkdir()
    for path in sorted(sheets.glob("*.jpg"))[:6]:
        shutil.copy(path, images / path.name)
    root = scratch / "violaceae"
    for args in (["init", root, "--images", images], ["propose", root, "--method", "otsu"],
                 ["select", root, "--strategy", "random", "--batch-size", "3"]):
        assert specimask([str(a) for a in args]) == 0
    return root


def window(root: Path, author: str):
    import napari

    from napari_specimask._launch import dock_widgets, raise_tab
    from napari_specimask._widgets._session import session_for

    viewer = napari.Viewer(title=f"specimask ({author})")
    viewer.window.resize(1400, 900)
    widgets = dock_widgets(viewer)
    widgets["Project"].open_project(root)
    widgets["Annotate"].author.setText(author)
    raise_tab(viewer, "Annotate")
    return viewer, widgets["Annotate"], session_for(viewer)


def main() -> None:
    import napari
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication, QMessageBox

    parser = argparse.ArgumentParser()
    parser.add_argument("--sheets", type=Path,
                        default=ROOT.parent / "shared" / "data" / "violaceae_pool")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="specimask-shared-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    root = make_project(args.sheets, scratch)
    app = napari.qt.get_qapp()

    va, ana, sa = window(root, "ana")
    vb, ben, sb = window(root, "ben")
    queue = list(sa.queue)
    sa.set_queue(queue)
    sb.set_queue(queue)  # ben lands on ana's sheet
    idle(app, ana)
    idle(app, ben)
    print("ben:", ben.status.text())
    vb.screenshot(str(OUT / "shared_lease.png"), canvas_only=False)
    ben.step(1)
    idle(app, ben)
    print("ben after Next:", ben.status.text())

    sa.set_queue(queue[1:2])  # both on one sheet, before anyone saved
    sb.set_queue(queue[1:2])
    idle(app, ana)
    idle(app, ben)
    h, w = va.layers["mask"].data.shape
    va.layers["mask"].paint((h // 2, w // 2), 1)
    ana.save()
    idle(app, ana)

    def grab_and_answer_no():
        dialog = QApplication.activeModalWidget()
        if dialog is None:  # not up yet
            QTimer.singleShot(200, grab_and_answer_no)
            return
        dialog.grab().save(str(OUT / "shared_conflict.png"))
        dialog.button(QMessageBox.StandardButton.No).click()

    QTimer.singleShot(500, grab_and_answer_no)
    vb.layers["mask"].paint((h // 3, w // 3), 1)
    ben.save()
    idle(app, ben)  # the conflict's question comes when the save is refused
    print("ben:", ben.status.text())
    print(OUT / "shared_lease.png", OUT / "shared_conflict.png")
    va.close()
    vb.close()


if __name__ == "__main__":
    main()
