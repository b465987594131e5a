"""The dispatchers' common part (send, then note when) and the embedded one: an in-process pool of threads."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable

from sqlalchemy import update

from grader.db import SimilarityRun, Submission, utcnow
from grader.dispatch import QUEUES, QueueName
from grader.runtime import Runtime
from worker.grading.submission import grade_submission
from worker.runtime import WorkerRuntime
from worker.similarity import run_similarity

log = logging.getLogger("beras.queue")


class SendingDispatcher(ABC):
    """A ``grader.dispatch.Dispatcher`` that notes when each job (a submission, a similarity check) was sent;
    subclasses say how (``_send``, ``_send_similarity``).

    ``enqueue`` never raises: a lost send is picked up again by the reconciler.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def enqueue(self, submission_id: int, queue: str, countdown_s: float = 0.0) -> bool:
        """Send ``submission_id`` to ``queue`` and note when; return False when it could not be sent."""
        return self._sent(Submission, submission_id, f"submission {submission_id} on {queue}",
                          lambda: self._send(submission_id, queue, countdown_s))

    def enqueue_similarity(self, run_id: int) -> bool:
        """Send similarity check ``run_id`` to the regrade queue and note when; False when it could not be
        sent."""
        return self._sent(SimilarityRun, run_id, f"similarity check {run_id}",
                          lambda: self._send_similarity(run_id))

    def _sent(self, model: type, row_id: int, what: str, send: Callable[[], None]) -> bool:
        """Call ``send``, then note the time on the job's row (``model``); False when it could not be sent."""
        try:
            send()
        except Exception as error:  # noqa: BLE001 (the broker may be down; the row stays queued)
            log.warning("could not enqueue %s: %s; the reconciler will retry", what, error)
            return False
        try:
            with self.runtime.sessions() as session:
                session.execute(update(model).where(model.id == row_id)
                                .values(enqueued_at=utcnow()).execution_options(synchronize_session=False))
                session.commit()
        except Exception as error:  # noqa: BLE001
            log.warning("sent %s but could not note it: %s", what, error)
        return True

    @abstractmethod
    def _send(self, submission_id: int, queue: str, countdown_s: float) -> None: ...

    @abstractmethod
    def _send_similarity(self, run_id: int) -> None: ...

    def close(self) -> None:
        pass


class EmbeddedDispatcher(SendingDispatcher):
    """A pool of threads in this process; new submissions always go before regrades and similarity checks
    (FIFO within each queue)."""

    def __init__(self, runtime: WorkerRuntime, workers: int | None = None) -> None:
        super().__init__(runtime)
        self.runtime: WorkerRuntime = runtime
        # Each queue holds (job, id): ("grade", submission id) or ("similarity", run id).
        self._queues: dict[str, deque[tuple[str, int]]] = {name: deque() for name in QUEUES}
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"grader-{i}", daemon=True)
                         for i in range(workers or runtime.settings.embedded_workers)]
        for thread in self._threads:
            thread.start()

    def _send(self, submission_id: int, queue: str, countdown_s: float) -> None:
        if countdown_s > 0:
            timer = threading.Timer(countdown_s, self._send, (submission_id, queue, 0.0))
            timer.daemon = True
            timer.start()
            return
        self._put(queue, ("grade", submission_id))

    def _send_similarity(self, run_id: int) -> None:
        self._put(QueueName.REGRADE, ("similarity", run_id))

    def _put(self, queue: str, job: tuple[str, int]) -> None:
        with self._ready:
            self._queues.setdefault(queue, deque()).append(job)
            self._ready.notify()

    def _next(self) -> tuple[tuple[str, int], str] | None:
        with self._ready:
            while not self._closed:
                for name, items in self._queues.items():
                    if name != QueueName.REGRADE and items:
                        return items.popleft(), name
                if self._queues[QueueName.REGRADE]:
                    return self._queues[QueueName.REGRADE].popleft(), QueueName.REGRADE
                self._ready.wait()
        return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            (kind, submission_id), queue = job
            if kind == "similarity":
                try:
                    run_similarity(submission_id, self.runtime)
                except Exception:  # noqa: BLE001 (the run stays queued or running; the reconciler resends it)
                    log.exception("similarity check %s failed", submission_id)
                continue
            try:
                outcome = grade_submission(submission_id, self.runtime)
                # Not "handed_back": this process is the only grader, and it has no GPU; the reconciler sends
                # the job again after the queued deadline, so a GPU added meanwhile grades it.
                if outcome.action == "retry":
                    self.enqueue(submission_id, queue, outcome.retry_in_s)
            except Exception:  # noqa: BLE001 (the row stays queued or running; the reconciler hands it on)
                log.exception("grading submission %s failed", submission_id)

    def pending(self) -> int:
        with self._ready:
            return sum(len(items) for items in self._queues.values())

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
