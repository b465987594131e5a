"""Database engines and sessions, and ``migrate``: bring a database to the newest schema with Alembic."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")

_engines: dict[tuple[int, str], Engine] = {}


def engine_for(url: str) -> Engine:
    """One engine per process and URL; a forked worker process gets its own, never its parent's connections."""
    key = (os.getpid(), url)
    if key not in _engines:
        _engines[key] = _create(url)
    return _engines[key]


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            # WAL lets the API read while a worker thread writes; foreign keys are off by default in SQLite.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # pre_ping: a connection the database dropped (a restart) is replaced instead of failing the next request.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                         connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {})


def sessions(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


def migrate(url: str, revision: str = "head") -> None:
    """Create the database's tables, or upgrade them, to the newest migration (safe to call on every start).

    Args:
        url: the database URL.
        revision: the migration to stop at (an older one only to test the upgrade from it).
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection_url"] = url
    engine = engine_for(url)
    # The API and every worker migrate on start, often at the same moment: one at a time.
    with _migration_lock(url), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(7411)"))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def _migration_lock(url: str):
    """A file lock beside a SQLite database (PostgreSQL takes an advisory lock in the transaction instead)."""
    if not url.startswith("sqlite:///"):
        yield
        return
    with open(url.removeprefix("sqlite:///") + ".migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
