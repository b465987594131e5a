"""Database engines and sessions, and ``migrate``: bring a database to the newest schema with Alembic."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")

_engines: dict[tuple[int, str, str], Engine] = {}


@dataclass(frozen=True)
class PoolLimits:
    """How many connections one process keeps to the database, and how long a caller waits for a free one.

    Attributes:
        connections: the most connections open at once (10 are kept open, the rest close when idle).
        wait_s: waiting longer raises ``sqlalchemy.exc.TimeoutError`` (the API answers 503 with Retry-After).
        busy_s: SQLite only: how long a writer waits for the database's write lock.
    """

    connections: int = 60
    wait_s: float = 5.0
    busy_s: float = 10.0


# The health probe's own pool: one connection, never shared with requests, so it cannot queue behind them.
PROBE = PoolLimits(connections=1, wait_s=0.5, busy_s=0.5)


def printable_url(url: str) -> str:
    """The database URL with any password blanked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is named as such, never echoed
        return "(unparsable URL)"


def engine_for(url: str, pool: PoolLimits | None = None, purpose: str = "main") -> Engine:
    """One engine per process, URL and purpose; a forked worker gets its own, never its parent's connections.

    Args:
        url: the database URL.
        pool: the pool's size and waits; only the first call for a (process, URL, purpose) sets them.
        purpose: ``"main"`` for everything, or another name for a separate pool (the health probe's).
    """
    key = (os.getpid(), url, purpose)
    if key not in _engines:
        _engines[key] = _create(url, pool or PoolLimits())
    return _engines[key]


def _create(url: str, pool: PoolLimits) -> Engine:
    kept = min(10, pool.connections)
    sizes = {"pool_size": kept, "max_overflow": pool.connections - kept, "pool_timeout": pool.wait_s}
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": pool.busy_s},
                               **sizes)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            # WAL lets the API read while a worker thread writes; foreign keys are off by default in SQLite.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(pool.busy_s * 1000)}")
            cursor.close()

        return engine
    # pre_ping: a connection the database dropped (a restart) is replaced instead of failing the next request.
    return create_engine(url, pool_pre_ping=True, **sizes,
                         connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {})


def sessions(url: str, pool: PoolLimits | None = None) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url, pool), expire_on_commit=False)


def migrate(url: str, revision: str = "head", pool: PoolLimits | None = None) -> None:
    """Create the database's tables, or upgrade them, to the newest migration (safe to call on every start).

    Args:
        url: the database URL.
        revision: the migration to stop at (an older one only to test the upgrade from it).
        pool: the process's pool limits, when this is the first use of the URL (see ``engine_for``).
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection_url"] = url
    engine = engine_for(url, pool)
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
