"""The window at 1366 x 768 and 1920 x 1080, and the overlays of a weak and a good model on
a real herbarium sheet, for docs/user-guide.md.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/day_of_work_screenshots.py \
        [SHEETS_DIR]   # default ../shared/data/violaceae_pool

A project of 14 real Violaceae sheets; the hand-checked reference masks of
benchmarks/reference_masks/violaceae stand in for a person's verified masks. Two models are
trained on them on the CPU: a weak one (64 px, 4 steps: what a first run on a few masks
gives) and a better one (256 px, about two minutes). Writes docs/images/window_1366x768.png,
docs/images/window_1920x1080.png and docs/images/overlays_weak_good.png.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

from _screens import Window
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
SHEETS = REPO.parent / "shared" / "data" / "violaceae_pool"
REFERENCES = REPO / "benchmarks" / "reference_masks" / "violaceae"
SHOWN = "V05_01_004"  # a reference sheet with a colour chart, labels and thin stems


def build(scratch: Path, sheets: Path) -> tuple[Path, str, str]:
    """The project, with its weak and its good model (versions)."""
    from napari_specimask.core.coldstart.methods import propose_masks
    from napari_specimask.core.coldstart.proposals import project_cold_start
    from napari_specimask.core.exchange.image_import import import_images
    from napari_specimask.core.io.images import read_mask
    from napari_specimask.core.progress import run
    from napari_specimask.core.store.project import Project
    from napari_specimask.core.training.config import TrainConfig
    from napari_specimask.core.training.fit import train

    folder = scratch / "sheets"
    folder.mkdir()
    refs = sorted(REFERENCES.glob("*.png"))
    names = [r.stem for r in refs] + [p.stem for p in sorted(sheets.glob("*.jpg"))[:4]]
    for name in dict.fromkeys(names):
        shutil.copy(sheets / f"{name}.jpg", folder / f"{name}.jpg")
    project = Project.create(scratch / "violaceae")
    report = run(import_images(project, folder))
    cold, _ = run(project_cold_start(project))
    run(propose_masks(project, cold, image_ids=report.added))
    by_name = {r.name: r for r in project.images()}
    for ref in refs:
        rec = by_name[ref.stem]
        project.save_mask(rec.id, read_mask(ref, (rec.height, rec.width)), "corrected")
    project.set_role([by_name[r.stem].id for r in refs[-2:] if r.stem != SHOWN], "val")
    common = dict(encoder="resnet18", encoder_weights="none", batch_size=4, patience=0,
                  augment="affine")
    print("training the weak and the good model…", file=sys.stderr)
    weak = train(project, TrainConfig.from_settings(project.settings, img_size=64, epochs=1,
                                                    max_steps=4, **common))
    good = train(project, TrainConfig.from_settings(project.settings, img_size=256, epochs=15,
                                                    samples_per_epoch=40, **common))
    print(f"weak {weak.version}: val Dice {weak.metrics.get('best_val_dice')}; good "
          f"{good.version}: val Dice {good.metrics.get('best_val_dice')}", file=sys.stderr)
    project.close()
    return scratch / "violaceae", weak.version, good.version


def canvas_with(win: Window, version: str, image_id: int) -> Image.Image:
    """The canvas with ``version``'s probability and uncertainty on the sheet."""
    from napari_specimask.core.store.registry import activate

    session, w = win.session, win.widgets
    activate(session.project, version)
    session.models_changed.emit()
    preds = w["Predictions"]
    preds.show_probability.setChecked(True)
    preds.show_uncertainty.setChecked(True)
    preds.show_contour.setChecked(False)
    session.show_requested.emit(image_id)
    win.wait(lambda: preds.shown is not None and preds.image_id == image_id
             and f"model {version}" in preds.info.text())
    win.viewer.layers["mask"].visible = False  # the maps alone, over the sheet
    path = OUT / f".overlay_{version}.png"
    win.viewer.screenshot(str(path), canvas_only=True)
    win.viewer.layers["mask"].visible = True
    shot = Image.open(path).convert("RGB")
    path.unlink()
    return shot


def main(sheets: Path) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="specimask-day-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    root, weak, good = build(scratch, sheets)

    win = Window()
    w = win.widgets
    w["Project"].open_project(root)
    shown = next(r for r in win.session.project.images() if r.name == SHOWN)
    win.session.show_requested.emit(shown.id)
    win.wait(lambda: win.session.canvas is not None)
    for size in ((1366, 768), (1920, 1080)):
        win.viewer.window.resize(*size)
        win.shot("Annotate", OUT / f"window_{size[0]}x{size[1]}.png")
        print(f"{size}: window {win.viewer.window._qt_window.size()}")

    win.viewer.window.resize(1400, 900)
    shots = [canvas_with(win, v, shown.id) for v in (weak, good)]
    h = min(s.height for s in shots)
    shots = [s.crop((0, 0, s.width, h)) for s in shots]
    strip = Image.new("RGB", (sum(s.width for s in shots) + 8, h), "white")
    x = 0
    for s in shots:
        strip.paste(s, (x, 0))
        x += s.width + 8
    strip.save(OUT / "overlays_weak_good.png")
    print(OUT / "overlays_weak_good.png")
    win.viewer.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SHEETS)
