"""Model versions in the store (the ``models`` table): naming, outcome, the active one.

The registry knows versions by name, status, metrics and config as plain data; reading
and writing the weights is ``core.model.weights``' job, so the store needs no torch.
"""

from __future__ import annotations

import json
import os

from ..errors import SpecimaskError
from ..io.atomic import atomic_write_bytes
from ..vocabulary import ACTIVATE_WHEN
from .db import now
from .processes import this_host
from .project import MODELS_DIR, Project

METRICS_FILE = "metrics.json"


def new_version(project: Project, parent: str | None, iteration: int | None,
                train_ids: list[int], config: dict) -> str:
    """Reserve the next version name (v001, v002, ...) with status 'training', and the
    host and process training it (so a project opened after a kill can tell it is over).

    ``config`` is the model config as a dict (``asdict(ModelConfig(...))``): its arch,
    encoder and img_size become columns, the whole is kept as JSON.
    """
    with project.store.transaction() as conn:
        n = conn.execute("SELECT COUNT(*) FROM models").fetchone()[0] + 1
        version = f"v{n:03d}"
        while conn.execute("SELECT 1 FROM models WHERE version = ?", (version,)).fetchone():
            n += 1
            version = f"v{n:03d}"
        conn.execute(
            "INSERT INTO models (version, parent, created_at, arch, encoder, img_size, path,"
            " iteration, train_image_ids, status, config, host, pid)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (version, parent, now(), config["arch"], config["encoder"], config["img_size"],
             f"{MODELS_DIR}/{version}", iteration, json.dumps(train_ids), "training",
             json.dumps(config), this_host(), os.getpid()))
    (project.root / MODELS_DIR / version).mkdir(parents=True, exist_ok=True)
    return version


def finish_version(project: Project, version: str, status: str, metrics: dict) -> None:
    """Record the outcome in the store first (what every reader uses), then a copy in the
    version's folder, so a full disk cannot leave the version looking as if still training."""
    with project.store.transaction() as conn:
        conn.execute("UPDATE models SET status = ?, metrics = ? WHERE version = ?",
                     (status, json.dumps(metrics), version))
    folder = project.root / MODELS_DIR / version
    atomic_write_bytes(folder / METRICS_FILE, json.dumps(metrics, indent=2).encode())


def update_metrics(project: Project, version: str, extra: dict) -> None:
    """Add ``extra`` to a finished version's metrics (the gate's verdict), in the store
    and in its metrics.json, as ``finish_version`` does."""
    with project.store.transaction() as conn:
        row = conn.execute("SELECT metrics FROM models WHERE version = ?", (version,)).fetchone()
        if row is None:
            raise unknown_version(project, version, [])
        metrics = {**(json.loads(row[0]) if row[0] else {}), **extra}
        conn.execute("UPDATE models SET metrics = ? WHERE version = ?",
                     (json.dumps(metrics), version))
    folder = project.root / MODELS_DIR / version
    atomic_write_bytes(folder / METRICS_FILE, json.dumps(metrics, indent=2).encode())


def list_models(project: Project) -> list[dict]:
    rows = project.store.read("SELECT * FROM models ORDER BY created_at, version")
    out = []
    for r in rows:
        d = dict(r)
        d["metrics"] = json.loads(d["metrics"]) if d["metrics"] else {}
        d["train_image_ids"] = json.loads(d["train_image_ids"] or "[]")
        d["config"] = json.loads(d["config"]) if d.get("config") else {}
        d["active"] = bool(d["active"])
        d["removed"] = bool(d.get("removed_at"))
        out.append(d)
    return out


def active_version(project: Project) -> str | None:
    row = project.store.read_one("SELECT version FROM models WHERE active = 1")
    return row[0] if row else None


def version_or_active(project: Project, version: str | None = None) -> str:
    """``version``, or the active one; when there is none, an error that says why: no
    model trained yet, or the trained ones kept out (by the gate, or by hand), naming
    them and how to use one (``verdicts.no_active_model``)."""
    version = version or active_version(project)
    if version is None:
        from .verdicts import no_active_model  # verdicts reads this module's rows

        raise no_active_model(project)
    return version


ACTIVATED_BY = ("gate", "rule", "hand")  # won the comparison; 'always'; a person's choice


def activate(project: Project, version: str, by: str = "hand") -> None:
    """Make ``version`` the active one, recording how (``ACTIVATED_BY``)."""
    if by not in ACTIVATED_BY:
        raise SpecimaskError(f"unknown activation {by!r}; one of {', '.join(ACTIVATED_BY)}")
    with project.store.transaction() as conn:  # checked under the write lock: a removal
        row = conn.execute(  # in another process cannot slip in between
            "SELECT status, removed_at FROM models WHERE version = ?", (version,)).fetchone()
        if row is None:
            known = conn.execute("SELECT version FROM models ORDER BY created_at, version")
            raise unknown_version(project, version, [r[0] for r in known])
        if row[0] not in ("ready", "stopped"):
            raise SpecimaskError(f"model {version} is {row[0]}; only finished models can be "
                                 "active")
        if row[1]:
            raise weights_removed(project, version, row[1])
        conn.execute("UPDATE models SET active = (version = ?), activated_by = CASE"
                     " WHEN version = ? THEN ? END", (version, version, by))


def mark_removed(project: Project, version: str) -> bool:
    """Mark a version's weights removed, under the write lock and only while it is not
    active; False when it is (activated by someone else since it was checked)."""
    with project.store.transaction() as conn:
        return bool(conn.execute(
            "UPDATE models SET removed_at = COALESCE(removed_at, ?) WHERE version = ? "
            "AND active = 0", (now(), version)).rowcount)


def check_not_removed(project: Project, version: str) -> None:
    row = project.store.read_one("SELECT removed_at FROM models WHERE version = ?", (version,))
    if row is not None and row[0]:
        raise weights_removed(project, version, row[0])


def weights_removed(project: Project, version: str, when: str) -> SpecimaskError:
    return SpecimaskError(f"the weights of model {version} were removed on {when} to free "
                          f"disk; use another version (`specimask models {project.root}`)")


def unknown_version(project: Project, version: str, known: list[str]) -> SpecimaskError:
    return SpecimaskError(f"no model version {version!r} in {project.root} "
                          f"(known: {', '.join(known) or 'none'})")


def check_activation_rule(when: str) -> str:
    if when not in ACTIVATE_WHEN:
        raise SpecimaskError(f"unknown activation rule {when!r}; choose one of "
                             f"{', '.join(ACTIVATE_WHEN)}")
    return when
