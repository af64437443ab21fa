"""The project database (``specimask.db``, SQLite): images, annotations, iterations, models.

One connection per thread (SQLite connections must not be shared across threads), WAL
journal so the GUI thread can read while a worker writes, and ``BEGIN IMMEDIATE``
transactions so writers queue instead of failing. The schema carries a version
(``PRAGMA user_version``) and is brought up to date on open by ``schema.MIGRATIONS``.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ProjectError
from . import schema

DB_FILE = "specimask.db"
def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    """Thread-safe access to ``specimask.db``; use ``read()`` and ``transaction()``."""

    def __init__(self, path: str | Path, create: bool = False):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise ProjectError(f"{self.path}: database not found; is this a specimask project?")
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._uid: str | None = None
        self._migrate()

    @property
    def schema_version(self) -> int:
        return self._conn().execute("PRAGMA user_version").fetchone()[0]

    @property
    def project_uid(self) -> str:
        """The id this project's database was given when made (or brought to schema 8):
        what tells two projects apart whose image ids, names and files are the same."""
        if self._uid is None:
            self._uid = self.read_one("SELECT value FROM meta WHERE key = 'project_uid'")[0]
        return self._uid

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                       check_same_thread=False)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
                # FULL: a commit that returned survives a power cut, not only a kill
                conn.execute("PRAGMA synchronous=FULL")
            except sqlite3.DatabaseError as exc:
                raise ProjectError(f"{self.path}: not a usable SQLite database ({exc})") from None
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing write; other writers wait (up to 30 s) rather than fail."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def read(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, params).fetchall()

    def read_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        return self._conn().execute(sql, params).fetchone()

    def column(self, sql: str, params: tuple | dict = ()) -> list:
        """The first column of every row, as plain values: three times faster than
        rows for the million ids of a large project (no ``sqlite3.Row`` per row)."""
        cursor = self._conn().cursor()
        cursor.row_factory = None
        return [r[0] for r in cursor.execute(sql, params)]

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    def _migrate(self) -> None:
        conn = self._conn()
        current = self.schema_version
        target = len(schema.MIGRATIONS)
        if current > target:
            raise ProjectError(
                f"{self.path}: made by a newer specimask (schema {current}, this one knows "
                f"{target}); upgrade napari-specimask to open it"
            )
        if current == target:
            return
        if current > 0:  # keep the old file until the migration has committed
            shutil.copy2(self.path, self.path.with_name(f"{self.path.name}.bak-v{current}"))
        for version in range(current, target):
            conn.execute("BEGIN IMMEDIATE")
            try:
                schema.MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
