"""Active-learning iterations in the store: what a selection chose and queued, the
proposal each image was shown with, and the rows an iteration's tallies are made of.

``core.active.queue`` and ``core.active.annotations`` decide; this module only reads
and writes the ``iterations`` and ``iteration_items`` tables (and queues images).
"""

from __future__ import annotations

import json
import sqlite3

from ..vocabulary import COLD_START
from .db import now
from .project import Project

# a person's verdict on a proposal (not a cold-start or imported mask)
PERSON_ORIGINS = ("hand", "corrected", "accepted")
SEEN_UPTO = "annotations_upto"  # a model's metrics: the newest annotation id it was built on


def record_iteration_and_queue(project: Project, *, strategy: str, seed: int,
                               batch_size: int, model_version: str | None, params: dict,
                               chosen: list[tuple[int, float | None]],
                               batch_score: float | None,
                               proposals: dict[int, str | None]) -> int:
    """One transaction: the iteration, one item per chosen image (its score, the batch
    score, the proposal's source) and the images' status ``queued``; returns its id."""
    with project.store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO iterations (created_at, strategy, seed, batch_size, model_version,"
            " params) VALUES (?, ?, ?, ?, ?, ?)",
            (now(), strategy, seed, batch_size, model_version, json.dumps(params)))
        iteration = cur.lastrowid
        conn.executemany(
            "INSERT INTO iteration_items (iteration_id, image_id, score, batch_score, proposal)"
            " VALUES (?, ?, ?, ?, ?)",
            [(iteration, i, s, batch_score, proposals.get(i)) for i, s in chosen])
        conn.executemany("UPDATE images SET status = 'queued' WHERE id = ?",
                         [(i,) for i, _ in chosen])
    return iteration


def set_latest_proposals(project: Project, proposals: dict[int, str | None]) -> None:
    """Record each image's new proposal source against its latest iteration."""
    with project.store.transaction() as conn:
        conn.executemany(
            "UPDATE iteration_items SET proposal = ? WHERE image_id = ? AND iteration_id ="
            " (SELECT MAX(iteration_id) FROM iteration_items WHERE image_id = ?)",
            [(v, i, i) for i, v in proposals.items()])


def latest_iteration_item(project: Project, image_id: int) -> sqlite3.Row | None:
    """The image's row in the last iteration that chose it, or None."""
    return project.store.read_one(
        "SELECT * FROM iteration_items WHERE image_id = ? ORDER BY iteration_id DESC LIMIT 1",
        (image_id,))


def proposal_source(project: Project, image_id: int) -> str | None:
    """Where the proposal a queued image is shown came from: a model version,
    ``COLD_START``, or None (no proposal, or never selected). The one answer for what
    Annotate names, what a save records and what the experiments count."""
    return item_source(latest_iteration_item(project, image_id))


def item_source(item: sqlite3.Row | None) -> str | None:
    """``proposal_source`` of an iteration row already read (None: never selected)."""
    return item["proposal"] if item is not None else None


def source_model(source: str | None) -> str | None:
    """The model version a proposal source names; None for cold start or none."""
    return source if source not in (None, COLD_START) else None


def list_iterations(project: Project) -> list[dict]:
    """Every iteration in order, ``params`` decoded."""
    rows = [dict(r) for r in project.store.read("SELECT * FROM iterations ORDER BY id")]
    for r in rows:
        r["params"] = json.loads(r["params"] or "{}")
    return rows


def latest_iteration(project: Project) -> dict | None:
    """The newest iteration, ``params`` decoded (None before the first selection)."""
    row = project.store.read_one("SELECT * FROM iterations ORDER BY id DESC LIMIT 1")
    if row is None:
        return None
    return {**dict(row), "params": json.loads(row["params"] or "{}")}


def count_chosen(project: Project, iteration_id: int) -> int:
    return project.store.read_one(
        "SELECT COUNT(*) FROM iteration_items WHERE iteration_id = ?", (iteration_id,))[0]


def person_annotations(project: Project, iteration_id: int) -> list[dict]:
    """Per image, the last mask a person saved in the iteration (hand, corrected or
    accepted): what the iteration's tallies count."""
    marks = ",".join("?" * len(PERSON_ORIGINS))
    rows = project.store.read(
        "SELECT a.* FROM annotations a JOIN (SELECT image_id, MAX(id) AS last"
        f" FROM annotations WHERE iteration = ? AND origin IN ({marks})"
        " GROUP BY image_id) l ON a.id = l.last", (iteration_id, *PERSON_ORIGINS))
    return [dict(r) for r in rows]


def annotation_mark(project: Project) -> int:
    """The newest annotation's id: the point a training run has seen saves up to."""
    row = project.store.read_one("SELECT MAX(id) FROM annotations")
    return int(row[0] or 0) if row is not None else 0


def saves_since(project: Project, mark: int) -> int:
    """Images a person saved a mask for after annotation ``mark`` (each counted once)."""
    marks = ",".join("?" * len(PERSON_ORIGINS))
    row = project.store.read_one(
        f"SELECT COUNT(DISTINCT image_id) FROM annotations WHERE id > ? AND origin IN ({marks})",
        (mark, *PERSON_ORIGINS))
    return int(row[0])


def selection_items(project: Project) -> dict[int, dict[int, dict]]:
    """Image id -> iteration id -> its ``iteration_items`` row (score, proposal source),
    for the provenance export."""
    items: dict[int, dict[int, dict]] = {}
    for row in project.store.read("SELECT * FROM iteration_items"):
        items.setdefault(row["image_id"], {})[row["iteration_id"]] = dict(row)
    return items
