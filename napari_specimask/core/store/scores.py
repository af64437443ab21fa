"""Per-image uncertainty scores (the ``scores`` table), keyed by model version, measure
and TTA views, so a score is computed once per model and read back after that."""

from __future__ import annotations

from .db import now
from .project import Project


def cached_scores(project: Project, version: str, measure: str, views: str,
                  ids: list[int] | None = None) -> dict[int, float]:
    """Cached scores of ``ids`` (all when None): a few by primary key, many in one scan."""
    key = (version, measure, views)
    sql = ("SELECT image_id, score FROM scores WHERE model_version = ? AND measure = ?"
           " AND views = ?")
    if ids is not None and len(ids) <= 5000:
        out: dict[int, float] = {}
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            chunk = ids[start : start + 900]
            rows = project.store.read(f"{sql} AND image_id IN ({','.join('?' * len(chunk))})",
                                      (*key, *chunk))
            out.update((r[0], r[1]) for r in rows)
        return out
    rows = project.store.read(sql, key)
    wanted = None if ids is None else set(ids)
    return {r[0]: r[1] for r in rows if wanted is None or r[0] in wanted}


def store_scores(project: Project, version: str, measure: str, views: str,
                 scores: dict[int, float]) -> None:
    """Keep ``scores`` (image id -> score), replacing older ones of the same key."""
    if not scores:
        return
    stamp = now()
    with project.store.transaction() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO scores (image_id, model_version, measure, views, score,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(i, version, measure, views, float(s), stamp) for i, s in scores.items()])


def score_rank(project: Project, version: str, measure: str, views: str,
               image_id: int) -> tuple[float, int, int] | None:
    """(the image's score, its rank from the most uncertain, how many are scored), or
    None if it is not scored: counted in SQLite, not by reading a million scores."""
    key = (version, measure, views)
    where = "WHERE model_version = ? AND measure = ? AND views = ?"
    row = project.store.read_one(f"SELECT score FROM scores {where} AND image_id = ?",
                                 (*key, image_id))
    if row is None:
        return None
    higher, n = project.store.read_one(
        f"SELECT COALESCE(SUM(score > ?), 0), COUNT(*) FROM scores {where}", (row[0], *key))
    return row[0], higher + 1, n
