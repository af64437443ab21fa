"""The project database: schema versions, migrations, threads, clear errors."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from napari_specimask.core.errors import ProjectError
from napari_specimask.core.store import schema as store_mod
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


def test_schema_9_renames_pseudo_to_cold_start_and_keeps_every_row(tmp_path, monkeypatch):
    """A project made before schema 9 spelled cold start ``pseudo``: its rows read
    ``coldstart`` after opening, with every column and index kept, and the old word is
    no longer a valid origin."""
    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS[:8])
    s = Store(tmp_path / "x.db", create=True)
    with s.transaction() as conn:
        conn.execute("INSERT INTO images (id, relpath, sha256, height, width, bytes, added_at)"
                     " VALUES (1, 'a.png', 'ab', 4, 4, 10, 't')")
        for i, origin in enumerate(("pseudo", "hand", "pseudo"), 1):
            conn.execute("INSERT INTO annotations (id, image_id, origin, mask_path, method,"
                         " pixels_added, created_at) VALUES (?, 1, ?, ?, 'otsu', ?, 't')",
                         (i, origin, f"annotations/{i}.png", i * 10))
        conn.execute("INSERT INTO iterations (id, created_at, strategy) VALUES (1, 't', 'r')")
        conn.execute("INSERT INTO iteration_items (iteration_id, image_id, proposal)"
                     " VALUES (1, 1, 'pseudo')")
    s.close()
    monkeypatch.undo()
    s = Store(tmp_path / "x.db")
    assert s.schema_version == len(store_mod.MIGRATIONS) >= 9
    rows = [tuple(r) for r in s.read("SELECT id, origin, mask_path, method, pixels_added"
                                     " FROM annotations ORDER BY id")]
    assert rows == [(1, "coldstart", "annotations/1.png", "otsu", 10),
                    (2, "hand", "annotations/2.png", "otsu", 20),
                    (3, "coldstart", "annotations/3.png", "otsu", 30)]
    assert s.read_one("SELECT proposal FROM iteration_items")[0] == "coldstart"
    indexes = {r[0] for r in s.read("SELECT name FROM sqlite_master WHERE type = 'index'"
                                    " AND tbl_name = 'annotations'")}
    assert "annotations_image" in indexes
    with pytest.raises(sqlite3.IntegrityError), s.transaction() as conn:
        conn.execute("INSERT INTO annotations (image_id, origin, mask_path, created_at)"
                     " VALUES (1, 'pseudo', 'x', 't')")
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
