"""Screenshots of every dock widget on the demo project, for docs/user-guide.md.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/gui_screenshots.py

Builds the demo project, verifies 16 pool images from the true masks (standing in for
earlier annotation), trains a model (128 px, about 2 minutes on 2 CPU cores), then drives
the widgets as a person would and saves one screenshot per widget to docs/images/.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

from _screens import Window, wait

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def main() -> None:
    from napari_specimask.core.demo.project import create_demo_project
    from napari_specimask.core.io.images import read_mask
    from napari_specimask.core.progress import run
    from napari_specimask.core.store.registry import activate
    from napari_specimask.core.training.config import TrainConfig
    from napari_specimask.core.training.fit import train

    scratch = Path(tempfile.mkdtemp(prefix="specimask-shots-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)  # ~200 MB of project
    root = scratch / "demo"
    project = run(create_demo_project(root))
    for rec in project.images(role="pool")[::2]:
        project.save_mask(rec.id, read_mask(root / "truth" / f"{rec.name}.png"), "hand")
    cfg = TrainConfig.from_settings(project.settings, img_size=128, epochs=40,
                                    encoder_weights="none", patience=0)
    print("training the model for the screenshots…", file=sys.stderr)
    activate(project, train(project, cfg).version)
    project.close()

    win = Window()
    viewer, app, w, session = win.viewer, win.app, win.widgets, win.session

    def shot(tab: str, name: str):
        win.shot(tab, OUT / name)

    w["Project"].open_project(root)
    w["Project"].filter.setText("pool")
    win.wait(lambda: w["Project"].model.query.words == ("pool",))  # after typing pauses
    session.show_requested.emit(session.project.images(role="pool")[1].id)
    shot("Project", "widget_project.png")
    w["Project"].filter.setText("")

    al = w["Active learning"]
    al.strategy.setCurrentText("stochastic")
    al.batch_size.setValue(8)
    al.n_batches.setValue(20)
    al.tta.setValue(8)
    al.select()
    wait(app, lambda: al.worker is None and al.selection is not None)
    preds = w["Predictions"]
    wait(app, lambda: "rank" in preds.info.text() or "not scored" in preds.info.text())
    shot("Predictions", "widget_predictions.png")

    annotate = w["Annotate"]
    labels = viewer.layers["mask"]
    h, wd = labels.data.shape
    labels.brush_size = max(4, h // 40)
    labels.paint((h // 2, wd // 2), 1)  # a correction with the brush
    annotate.save()
    annotate.step(1)
    wait(app, lambda: "rank" in preds.info.text() or "not scored" in preds.info.text())
    shot("Annotate", "widget_annotate.png")
    shot("Active learning", "widget_active_learning.png")

    t = w["Train"]
    t.form.img_size.value = 128
    t.form.epochs.value = 6
    t.form.encoder_weights.value = "none"
    reports = []
    t.start()
    t.worker.yielded.connect(reports.append)
    wait(app, lambda: sum(r.stage == "validate" for r in reports) >= 3 or t.worker is None)
    shot("Train", "widget_train.png")
    wait(app, lambda: t.worker is None)

    qa = w["QA"]
    qa._load_models()
    qa.split.setCurrentText("val")
    versions = [qa.version.itemText(i) for i in range(qa.version.count())]
    qa.version.setCurrentText(session.active_model)
    qa.compare.setCurrentText(next(v for v in versions if v != session.active_model))
    qa.evaluate()
    wait(app, lambda: qa.worker is None and bool(qa.rows))
    qa.show_row(0)  # the worst image: its panels replace the annotation layers
    wait(app, lambda: qa.worker is None and qa.view.is_open)
    shot("QA", "widget_qa.png")

    ex = w["Import / export"]
    ex.format.setCurrentText("cutout")
    ex.background.setCurrentText("white")
    ex.crop.setChecked(True)
    ex.export_to(scratch / "cutouts")
    wait(app, lambda: ex.worker is None)
    shot("Import / export", "widget_exchange.png")
    viewer.close()


if __name__ == "__main__":
    main()
