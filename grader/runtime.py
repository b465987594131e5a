"""Runtime: the settings and what they open (database sessions, blob store, queue), made once per process."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session, sessionmaker

from grader.blobs import BlobStore
from grader.db import PoolLimits, engine_for, migrate, sessions
from grader.db.engine import PROBE
from grader.dispatch import Dispatcher
from grader.settings import Settings


class Runtime:
    """Everything the API, the workers and the CLI share; ``dispatcher`` is set by whoever owns the queue.

    The sandbox is the worker's: ``worker.runtime.WorkerRuntime`` adds it, for the processes that grade.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.dispatcher: Dispatcher | None = None

    @cached_property
    def pool(self) -> PoolLimits:
        return PoolLimits(connections=self.settings.db_connections, wait_s=self.settings.db_wait_s)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return sessions(self.settings.database, self.pool)

    @cached_property
    def probe(self) -> sessionmaker[Session]:
        """Sessions on the health check's own one-connection pool: it never waits behind requests."""
        return sessionmaker(engine_for(self.settings.database, PROBE, purpose="probe"))

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.settings.blobs_dir)

    def migrate(self) -> None:
        """Create the data dir and bring the database to the newest schema."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(self.settings.database, pool=self.pool)
