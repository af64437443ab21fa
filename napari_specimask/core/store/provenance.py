"""Where each mask came from: the annotation row behind it and the selections that
queued its image, read for the provenance export."""

from __future__ import annotations

from .project import Project


def latest_annotations(project: Project, origins: tuple[str, ...]) -> dict[int, dict]:
    """Image id -> its latest annotation row of one of ``origins``."""
    marks = ",".join("?" * len(origins))
    rows = project.store.read(
        f"SELECT a.* FROM annotations a JOIN (SELECT image_id, MAX(id) AS last FROM annotations"
        f" WHERE origin IN ({marks}) GROUP BY image_id) l ON a.id = l.last", tuple(origins))
    return {r["image_id"]: dict(r) for r in rows}


def selection_items(project: Project) -> dict[int, dict[int, dict]]:
    """Image id -> iteration id -> its ``iteration_items`` row (score, proposal source)."""
    items: dict[int, dict[int, dict]] = {}
    for row in project.store.read("SELECT * FROM iteration_items"):
        items.setdefault(row["image_id"], {})[row["iteration_id"]] = dict(row)
    return items

