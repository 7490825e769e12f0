"""Choose the store backend from `--store`: the one place that knows every backend, so the backends
and the interface they implement (notifier/store.py) never import each other in a loop."""

from __future__ import annotations

from pathlib import Path

from notifier.store import Store


def open_store(target: str | Path) -> Store:
    """A `postgresql://`/`postgres://` URL opens PostgreSQL; anything else is a SQLite state file path."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        from notifier.store_postgres import PostgresStore

        return PostgresStore(text)
    from notifier.store_sqlite import SQLiteStore

    return SQLiteStore(Path(text))
