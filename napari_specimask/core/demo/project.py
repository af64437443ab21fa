"""The demo project on disk: synthetic images, their true masks, and a ready project.

Layout (everything under one folder, so it zips and moves)::

    DIR/specimask.toml, specimask.db, annotations/, proposals/, models/   the project
    DIR/images/{pool,val,test}/<name>.png                        the images
    DIR/truth/<name>.png                                         true masks of all images

Pool images start unlabelled with cold-start proposals; val and test images come with
their true masks (origin ``imported``), as a person's held-out set would.
"""

from __future__ import annotations

from pathlib import Path

from ..coldstart.methods import ColdStart
from ..coldstart.proposals import propose_masks
from ..exchange.image_import import import_images
from ..io.images import write_image, write_mask_png
from ..progress import Job, Progress
from ..settings import Settings
from ..store.project import Project
from ..vocabulary import Role
from .samples import demo_samples

DEMO_METHOD = "background"


def create_demo_project(out: str | Path, seed: int = 0, n_herbarium: int = 24,
                        n_plankton: int = 24, method: str = DEMO_METHOD) -> Job[Project]:
    """Write the demo set and build the project; returns the open Project."""
    out = Path(out)
    samples = demo_samples(n_herbarium=n_herbarium, n_plankton=n_plankton, seed=seed)
    for i, s in enumerate(samples):
        yield Progress(i, len(samples) * 2, f"writing {s.name}")
        write_image(out / "images" / s.split / f"{s.name}.png", s.image)
        write_mask_png(out / "truth" / f"{s.name}.png", s.mask)
    settings = Settings(name="specimask demo")
    settings.coldstart.method = method  # measured on the demo set (docs/cold-start.md)
    settings.model.encoder_weights = "none"  # the demo must work offline
    settings.model.img_size = 192  # trains in minutes on a laptop CPU (docs/benchmarks.md)
    settings.train.epochs = 60
    settings.train.patience = 15
    project = Project.create(out, settings)
    for role in ("pool", "val", "test"):
        masks = None if role == Role.POOL else out / "truth"
        yield from import_images(project, out / "images" / role, masks, role=role)
    yield from propose_masks(project, ColdStart(method))
    return project
