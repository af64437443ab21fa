"""The project database: schema versions, migrations, threads, clear errors."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from napari_specimask.core.errors import ProjectError
from napari_specimask.core.store import db as store_mod
from napari_specimask.core.store.db import Store
from napari_specimask.core.store.project import Project


def test_new_database_is_at_latest_schema(tmp_path):
    s = Store(tmp_path / "x.db", create=True)
    assert s.schema_version == len(store_mod.MIGRATIONS)
    tables = {r[0] for r in s.read("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"images", "annotations", "iterations", "iteration_items", "models"} <= tables
    s.close()


def test_migration_path_upgrades_and_keeps_backup(tmp_path, monkeypatch):
    Store(tmp_path / "x.db", create=True).close()
    migrations = list(store_mod.MIGRATIONS) + [
        lambda conn: conn.execute("ALTER TABLE images ADD COLUMN notes TEXT")
    ]
    monkeypatch.setattr(store_mod, "MIGRATIONS", migrations)
    s = Store(tmp_path / "x.db")
    assert s.schema_version == len(migrations)
    assert "notes" in {r[1] for r in s.read("PRAGMA table_info(images)")}
    assert (tmp_path / f"x.db.bak-v{len(migrations) - 1}").exists()
    s.close()


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    Store(tmp_path / "x.db", create=True).close()

    def broken(conn):
        conn.execute("ALTER TABLE images ADD COLUMN half_done TEXT")
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(store_mod, "MIGRATIONS", list(store_mod.MIGRATIONS) + [broken])
    with pytest.raises(RuntimeError):
        Store(tmp_path / "x.db")
    conn = sqlite3.connect(tmp_path / "x.db")
    assert "half_done" not in {r[1] for r in conn.execute("PRAGMA table_info(images)")}
    conn.close()


def test_newer_schema_is_refused(tmp_path):
    Store(tmp_path / "x.db", create=True).close()
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(ProjectError, match="newer specimask"):
        Store(tmp_path / "x.db")


def test_not_a_database(tmp_path):
    (tmp_path / "x.db").write_text("this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="x.db"):
        Store(tmp_path / "x.db")


def test_gui_and_worker_threads_write_at_once(project):
    """Two threads (say GUI and a training worker) saving masks concurrently."""
    ids = []
    with project.store.transaction() as conn:
        for i in range(40):
            cur = conn.execute(
                "INSERT INTO images (relpath, sha256, height, width, bytes, added_at)"
                " VALUES (?, ?, 8, 8, 1, 'now')", (f"i{i}.png", f"h{i}"))
            ids.append(cur.lastrowid)
    errors = []

    def work(chunk):
        try:
            for image_id in chunk:
                project.save_mask(image_id, np.eye(8, dtype=bool), "hand", seconds=1.0)
                project.summary()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ids[k::2],)) for k in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert project.summary()["by_status"]["labeled"] == 40
    assert len(project.annotations()) == 40


def test_project_open_errors(tmp_path):
    with pytest.raises(ProjectError, match="not a specimask project"):
        Project.open(tmp_path)
    Project.create(tmp_path / "p").close()
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(tmp_path / "p")
