"""Where each mask came from: the annotation row behind it and the selections that
queued its image, read for the provenance export."""

from __future__ import annotations

from .masks import latest_annotations  # noqa: F401 (what the provenance export reads)
from .project import Project


def selection_items(project: Project) -> dict[int, dict[int, dict]]:
    """Image id -> iteration id -> its ``iteration_items`` row (score, proposal source)."""
    items: dict[int, dict[int, dict]] = {}
    for row in project.store.read("SELECT * FROM iteration_items"):
        items.setdefault(row["image_id"], {})[row["iteration_id"]] = dict(row)
    return items

