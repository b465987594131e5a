"""A job's lease, kept alive while it runs: a dead worker's lease lapses and the reconciler hands it on."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, OperationalError

from grader.db import utcnow
from grader.runtime import Runtime

log = logging.getLogger("beras.lease")


class Heartbeat:
    """Renews a job row's lease every quarter lease while the job runs.

    Args:
        runtime: the runtime whose database holds the row, and whose ``lease_s`` is the lease.
        model: the job's table (``Submission``, ``SimilarityRun``): it has ``lease_token`` and
            ``lease_expires_at``.
        row_id: the job's row.
        token: this holder's lease token; a row another worker took since is left alone.
    """

    def __init__(self, runtime: Runtime, model: type, row_id: int, token: str) -> None:
        self.runtime, self.model, self.row_id, self.token = runtime, model, row_id, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{model.__tablename__}-{row_id}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        lease = self.runtime.settings.lease_s
        model = self.model
        while not self._stop.wait(lease / 4):
            try:
                with self.runtime.sessions() as session:
                    session.execute(update(model)
                                    .where(model.id == self.row_id, model.lease_token == self.token)
                                    .values(lease_expires_at=utcnow() + timedelta(seconds=lease))
                                    .execution_options(synchronize_session=False))
                    session.commit()
            except (OperationalError, DBAPIError) as error:
                log.warning("%s %s: lease renewal failed (%s); trying again", model.__tablename__,
                            self.row_id, str(error).splitlines()[0])
