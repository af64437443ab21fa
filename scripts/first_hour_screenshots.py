"""A person's first hour on real herbarium sheets, in napari alone, with screenshots.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/first_hour_screenshots.py \
        [SHEETS_DIR]   # default ../shared/data/violaceae_pool

New project from 24 real Violaceae sheets (the cold-start method is chosen on them),
the cold-start picker, a first random batch in Annotate, then the hand-checked reference
masks of benchmarks/reference_masks/violaceae stand in for the person's corrections of
the batch; Train (a short CPU run) judges its model against the cold-start proposals on
held-out masks, and a second batch is selected. Writes docs/images/first_hour_*.png and
prints what each step said.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

from _screens import Window, wait

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
SHEETS = REPO.parent / "shared" / "data" / "violaceae_pool"
REFERENCES = REPO / "benchmarks" / "reference_masks" / "violaceae"
N_SHEETS = 24


def main(sheets: Path) -> None:
    from napari_specimask.core.io.images import read_mask

    scratch = Path(tempfile.mkdtemp(prefix="specimask-first-hour-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    folder = scratch / "sheets"
    folder.mkdir()
    refs = sorted(REFERENCES.glob("*.png"))
    chosen = [sheets / f"{r.stem}.jpg" for r in refs]
    chosen += [p for p in sorted(sheets.glob("*.jpg")) if p not in chosen]
    for path in chosen[:N_SHEETS]:
        shutil.copy(path, folder / path.name)

    win = Window()
    viewer, app, w, session = win.viewer, win.app, win.widgets, win.session

    def shot(tab: str, name: str):
        win.shot(tab, OUT / name)

    project_w = w["Project"]
    project_w.new_project(scratch / "violaceae", folder)
    wait(app, lambda: "cold-start proposals" in project_w.title.text())
    project = session.project
    print("cold start chosen:", project.settings.coldstart.method)
    shot("Project", "first_hour_project.png")

    picker = project_w.open_picker()
    picker.resize(560, 860)
    picker.preview()
    wait(app, lambda: picker.apply_button.isEnabled())
    print("picker:", picker.note.text())
    picker.grab().save(str(OUT / "first_hour_coldstart_picker.png"))
    print(OUT / "first_hour_coldstart_picker.png")
    picker.close()

    al = w["Active learning"]
    al.strategy.setCurrentText("random")
    al.batch_size.setValue(len(refs))
    al.select()
    wait(app, lambda: al.worker is None and al.selection is not None)
    shot("Annotate", "first_hour_annotate.png")

    # the reference masks stand in for the person's corrections of the first batch
    by_name = {r.name: r for r in project.images()}
    for ref in refs:
        rec = by_name[ref.stem]
        project.save_mask(rec.id, read_mask(ref, (rec.height, rec.width)), "corrected")
    session.images_changed.emit()

    t = w["Train"]
    t.form.img_size.value = 256
    t.form.epochs.value = 25
    t.form.batch_size.value = 4
    t.form.encoder.value = "resnet18"
    t.form.use_cold_start.value = True
    t.start()
    wait(app, lambda: t.worker is None)
    print("train:", t.state.text())
    print("source:", t.source.text())
    shot("Train", "first_hour_train.png")

    al.strategy.setCurrentText("stochastic")
    al.batch_size.setValue(4)
    al.select()
    wait(app, lambda: al.worker is None)
    print("second batch:", al.state.text())
    shot("Annotate", "first_hour_second_batch.png")
    viewer.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SHEETS)
