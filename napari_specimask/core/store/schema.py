"""The database's schema: the tables as first made and every migration since, in order.

``MIGRATIONS[i]`` takes a database at version i (``PRAGMA user_version``) to version
i + 1; ``store.db`` runs the missing ones, each in one transaction, when a project opens.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ..vocabulary import COLD_START, OLD_COLD_START, Origin, Role, Status

# plain strings: they are written into the schema's CHECKs
ROLES = tuple(r.value for r in Role)
STATUSES = tuple(s.value for s in Status)
ORIGINS = tuple(o.value for o in Origin)
_V1_ORIGINS = ("hand", "corrected", "accepted", OLD_COLD_START, "imported")

_V1 = f"""
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    relpath TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL UNIQUE,
    height INTEGER NOT NULL,
    width INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    role TEXT NOT NULL DEFAULT 'pool' CHECK (role IN {ROLES}),
    status TEXT NOT NULL DEFAULT 'unlabeled' CHECK (status IN {STATUSES}),
    added_at TEXT NOT NULL
);
CREATE INDEX images_role_status ON images (role, status);
CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    origin TEXT NOT NULL CHECK (origin IN {_V1_ORIGINS}),
    mask_path TEXT NOT NULL,
    method TEXT,
    foreground_fraction REAL,
    edited_fraction REAL,
    seconds REAL,
    model_version TEXT,
    iteration INTEGER,
    author TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX annotations_image ON annotations (image_id, id);
CREATE TABLE iterations (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    strategy TEXT NOT NULL,
    seed INTEGER,
    batch_size INTEGER,
    model_version TEXT,
    params TEXT
);
CREATE TABLE iteration_items (
    iteration_id INTEGER NOT NULL REFERENCES iterations (id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    score REAL,
    batch_score REAL,
    PRIMARY KEY (iteration_id, image_id)
);
CREATE TABLE models (
    version TEXT PRIMARY KEY,
    parent TEXT,
    created_at TEXT NOT NULL,
    arch TEXT,
    encoder TEXT,
    img_size INTEGER,
    path TEXT NOT NULL,
    metrics TEXT,
    iteration INTEGER,
    train_image_ids TEXT,
    active INTEGER NOT NULL DEFAULT 0
);
"""

MODEL_STATUSES = ("training", "ready", "stopped", "failed")
_V2 = f"""
ALTER TABLE models ADD COLUMN status TEXT NOT NULL DEFAULT 'ready'
    CHECK (status IN {MODEL_STATUSES});
ALTER TABLE models ADD COLUMN config TEXT
"""

_V3 = """
CREATE TABLE scores (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    measure TEXT NOT NULL,
    views TEXT NOT NULL,
    score REAL NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (model_version, measure, views, image_id)
);
ALTER TABLE annotations ADD COLUMN proposal_dice REAL;
ALTER TABLE iteration_items ADD COLUMN proposal TEXT
"""

_V5 = """
ALTER TABLE models ADD COLUMN host TEXT;
ALTER TABLE models ADD COLUMN pid INTEGER;
CREATE TABLE leases (
    image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    author TEXT,
    host TEXT,
    pid INTEGER,
    taken_at TEXT NOT NULL,
    expires_at REAL NOT NULL
)
"""

_V6 = """
ALTER TABLE annotations ADD COLUMN pixels_added INTEGER;
ALTER TABLE annotations ADD COLUMN pixels_removed INTEGER
"""

_V8 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('project_uid', lower(hex(randomblob(16))));
CREATE TABLE drafts (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    author TEXT NOT NULL,
    base_annotation INTEGER,
    png BLOB NOT NULL,
    pixels_changed INTEGER NOT NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (image_id, author)
);
ALTER TABLE models ADD COLUMN activated_by TEXT
"""

# MIGRATIONS[i] takes a database at version i to version i + 1. Append, never edit.
# Each runs inside one transaction (executescript would commit early, so statements go
# one by one).
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    lambda conn: execute_statements(conn, _V1),
    # v2: a model row exists from the start of training; status says how it ended.
    lambda conn: execute_statements(conn, _V2),
    # v3: TTA scores cached per (image, model version, measure, views); how good each
    # proposal was; where a queued image's proposal came from.
    lambda conn: execute_statements(conn, _V3),
    # v4: a version whose weights were removed to free disk keeps its row (provenance,
    # history) with the time of removal.
    lambda conn: conn.execute("ALTER TABLE models ADD COLUMN removed_at TEXT"),
    # v5: who is training a version (host, pid: a killed run is found on open); which
    # annotator holds an image (leases expire, so a crashed window frees its image).
    lambda conn: execute_statements(conn, _V5),
    # v6: what a correction did to its proposal, in pixels added and removed (the
    # person's effort, and what corrective brushes record).
    lambda conn: execute_statements(conn, _V6),
    # v7: an image's latest score by the active model, found per row (the project
    # table pages through a million images sorted by score).
    lambda conn: conn.execute("CREATE INDEX scores_image ON scores"
                              " (model_version, image_id, created_at)"),
    # v8: the project's own id (a save names the project its mask was painted in, so a
    # window that switched projects cannot file it in another); drafts of unsaved edits
    # (what a killed napari had painted, offered back when the image is opened again);
    # how the active model became active (the gate, a rule, a person), so nothing says
    # "did not beat cold start" of a model a person chose.
    lambda conn: execute_statements(conn, _V8),
    # v9: one name for cold start: origin and proposal source 'pseudo' become
    # 'coldstart' (the annotations table is rebuilt for its CHECK).
    lambda conn: _rename_cold_start(conn),
]


def _rename_cold_start(conn: sqlite3.Connection) -> None:
    """Rebuild ``annotations`` with COLD_START in its CHECK (SQLite cannot alter one),
    the rows and indexes as they were; nothing references the table."""
    table, = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'annotations'").fetchone()
    indexes = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index'"
                                          " AND tbl_name = 'annotations' AND sql IS NOT NULL")]
    old, new = f"'{OLD_COLD_START}'", f"'{COLD_START}'"
    if old not in table:
        raise sqlite3.DatabaseError("annotations: the cold-start origin is not where schema 8 "
                                    "has it")
    conn.execute(table.replace("CREATE TABLE annotations", "CREATE TABLE annotations_v9", 1)
                 .replace(old, new))
    names = [r[1] for r in conn.execute("PRAGMA table_info(annotations)")]
    values = ", ".join("CASE origin WHEN ? THEN ? ELSE origin END" if n == "origin" else n
                       for n in names)
    conn.execute(f"INSERT INTO annotations_v9 ({', '.join(names)}) SELECT {values}"
                 " FROM annotations", (OLD_COLD_START, COLD_START))
    conn.execute("DROP TABLE annotations")
    conn.execute("ALTER TABLE annotations_v9 RENAME TO annotations")
    for sql in indexes:
        conn.execute(sql)
    conn.execute("UPDATE iteration_items SET proposal = ? WHERE proposal = ?",
                 (COLD_START, OLD_COLD_START))


def execute_statements(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
