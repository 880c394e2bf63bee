"""Let Django clone in-memory SQLite test databases when parallel workers start fresh.

With ``--parallel`` and the spawn (or forkserver) start method, Django copies an in-memory test
database to and from disk with ``sqlite3.Connection.backup(target)``, which accepts only a real
``sqlite3.Connection`` as target; the sqlite3 instrumentor makes ``sqlite3.connect`` return a
proxy, so the copy fails with ``backup() argument 'target' must be sqlite3.Connection``. Django's
backend connects through ``sqlite3.dbapi2.connect``, which stays traced; only the targets of those
copies are opened with ``sqlite3.connect``, which gets its plain function back. The cost: in such
a run, a test that calls ``sqlite3.connect`` itself (not through Django) is not traced.
"""

from __future__ import annotations

import sqlite3


def keep_backups_working() -> None:
    """Undo the instrumentor's wrapper on ``sqlite3.connect`` (not on ``sqlite3.dbapi2``'s)."""
    original = getattr(sqlite3.connect, "__wrapped__", None)
    if original is not None:
        sqlite3.connect = original
