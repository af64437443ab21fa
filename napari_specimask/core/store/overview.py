"""The image table, read a page at a time: a million rows never sit in Python at once.

A table view is its words (a filter) and its sort; ``ordered_ids`` runs it in SQLite
once (the ids only, in order), then ``rows_of`` reads the few rows on screen. Columns:
id, the image's path, role, status, the active model's latest cached score (any
measure) and the model version behind the image's latest mask, if any.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..errors import ProjectError
from .project import Project
from .registry import active_version

COLUMNS = ("id", "image", "role", "status", "score", "model")
_SCORE = ("(SELECT s.score FROM scores s WHERE s.model_version = :version"
          " AND s.image_id = i.id ORDER BY s.created_at DESC LIMIT 1)")
_MODEL = ("(SELECT a.model_version FROM annotations a WHERE a.image_id = i.id"
          " AND a.model_version IS NOT NULL ORDER BY a.id DESC LIMIT 1)")
_SORT = {"id": ("i.id",), "image": ("i.relpath",), "role": ("i.role", "i.id"),
         "status": ("i.status", "i.id"), "score": (_SCORE, "i.id"), "model": (_MODEL, "i.id")}


@dataclass(frozen=True)
class TableQuery:
    """Rows that match every word, in one column's order.

    A word matches a row whose role, status, id or model equals it (case aside), or
    whose path holds it: "labeled" finds labelled images and not "unlabeled" ones, and
    "pool herbarium_01" narrows to pool images whose name holds "herbarium_01". Case is
    ignored for ASCII letters (SQLite's ``lower``); "É" and "é" are different words.
    """

    words: tuple[str, ...] = ()
    sort: str = "id"
    descending: bool = False

    @classmethod
    def of(cls, text: str, sort: str = "id", descending: bool = False) -> TableQuery:
        if sort not in _SORT:
            raise ProjectError(f"unknown column {sort!r}; choose one of {', '.join(COLUMNS)}")
        # SQLite's lower() folds ASCII letters only: fold the words the same way
        words = "".join(c.lower() if c.isascii() else c for c in text).split()
        return cls(tuple(words), sort, descending)


def ordered_ids(project: Project, query: TableQuery) -> np.ndarray:
    """The ids of the rows ``query`` keeps, in its order (one query; 1M ids in ~0.3 s)."""
    clauses, params = [], {"version": active_version(project)}
    for k, word in enumerate(query.words):
        clauses.append(f"(instr(lower(i.relpath), :w{k}) > 0 OR i.role = :w{k} OR"
                       f" i.status = :w{k} OR CAST(i.id AS TEXT) = :w{k} OR"
                       f" lower({_MODEL}) = :w{k})")
        params[f"w{k}"] = word
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    order = ", ".join(f"{c} DESC" if query.descending else c for c in _SORT[query.sort])
    ids = project.store.column(f"SELECT i.id FROM images i{where} ORDER BY {order}", params)
    return np.asarray(ids, dtype=np.int64)


def rows_of(project: Project, ids) -> list[tuple]:
    """(id, relpath, role, status, score or None, model or None) of ``ids``, in order."""
    ids = [int(i) for i in ids]
    rows = project.store.read(
        f"SELECT i.id, i.relpath, i.role, i.status, {_SCORE}, {_MODEL} FROM images i"
        " WHERE i.id IN (SELECT value FROM json_each(:ids))",
        {"version": active_version(project), "ids": json.dumps(ids)})
    found = {r[0]: tuple(r) for r in rows}
    return [found[i] for i in ids if i in found]
