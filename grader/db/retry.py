"""retry_database: run a database step again, with backoff, while the database is unreachable."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger("beras.db")
T = TypeVar("T")


def retry_database(runtime, step: Callable[[], T], what: str) -> T:
    """``step()``, tried again while it fails with a connection error, for up to ``settings.db_retry_s``.

    Raises:
        The last error, once the time is spent (the job's lease then lapses and the reconciler hands it on).
    """
    deadline = time.monotonic() + runtime.settings.db_retry_s
    delay, attempt = 0.5, 1
    while True:
        try:
            return step()
        except (OperationalError, DBAPIError) as error:
            if not _connection_error(error) or time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable while trying to %s (attempt %d: %s); retrying in %.1f s",
                        what, attempt, str(error).splitlines()[0], delay)
            time.sleep(delay)
            delay, attempt = min(delay * 2, 10.0), attempt + 1


def _connection_error(error: DBAPIError) -> bool:
    # OperationalError is "the database is not there"; other DBAPI errors with a lost connection count too.
    return isinstance(error, OperationalError) or bool(getattr(error, "connection_invalidated", False))
