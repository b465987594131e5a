"""Celery on Redis: the app (queues cpu, gpu and regrade), its tasks ``beras.grade`` and ``beras.similarity``
(on the regrade queue), and the dispatcher that sends them."""

from __future__ import annotations

import logging

from celery import Celery, Task
from kombu import Queue
from sqlalchemy.exc import OperationalError

from grader.dispatch import QUEUES, QueueName
from grader.runtime import Runtime
from grader.settings import Settings
from worker.grading.submission import grade_submission
from worker.queue.dispatch import SendingDispatcher
from worker.runtime import WorkerRuntime
from worker.similarity import run_similarity

log = logging.getLogger("beras.worker")
TASK = "beras.grade"
SIMILARITY_TASK = "beras.similarity"


def make_celery(settings: Settings) -> Celery:
    """A Celery app for ``settings.broker_url``, set up so a task's effect happens once.

    acks_late + reject_on_worker_lost: a task is acknowledged only after it ran, so a lost worker's task is
    delivered again; prefetch 1: a busy worker does not sit on queued jobs another could start; the
    visibility timeout is longer than any job, so Redis never re-delivers a task that is still running.
    The database guards each submission's state, so a second delivery is a no-op.
    """
    app = Celery("beras_grader", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=QueueName.CPU.value,
        task_queues=[Queue(name.value) for name in QUEUES],
        task_create_missing_queues=False,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    return app


class CeleryDispatcher(SendingDispatcher):
    """Sends ``beras.grade`` tasks through the broker; in a worker process it also runs them (``grades``)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.app = make_celery(runtime.settings)

    def _send(self, submission_id: int, queue: str, countdown_s: float) -> None:
        self.app.send_task(TASK, args=[submission_id], queue=str(queue), countdown=countdown_s or None,
                           retry=True,
                           retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5})

    def _send_similarity(self, run_id: int) -> None:
        self.app.send_task(SIMILARITY_TASK, args=[run_id], queue=QueueName.REGRADE.value, retry=True,
                           retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5})

    def grades(self, runtime: WorkerRuntime) -> CeleryDispatcher:
        """Register the tasks that grade (and check similarity) on ``runtime`` (a worker process's), so
        ``self.app`` can run them."""

        def grade(task: Task, submission_id: int) -> str:
            return _grade(runtime, task, submission_id)

        def similarity(task: Task, run_id: int) -> str:
            try:
                return run_similarity(int(run_id), runtime)
            except OperationalError as error:  # the database is down before the run was claimed
                log.warning("similarity check %s: database unavailable (%s); retrying", run_id,
                            str(error).splitlines()[0])
                raise task.retry(countdown=5) from None

        for name, body in ((TASK, grade), (SIMILARITY_TASK, similarity)):
            self.app.task(name=name, bind=True, max_retries=None, acks_late=True,
                          reject_on_worker_lost=True)(body)
        return self


def _grade(runtime: WorkerRuntime, task: Task, submission_id: int) -> str:
    try:
        outcome = grade_submission(int(submission_id), runtime)
    except OperationalError as error:
        # The database is down before the job was claimed: try again shortly; the row is still queued.
        log.warning("submission %s: database unavailable (%s); retrying", submission_id,
                    str(error).splitlines()[0])
        raise task.retry(countdown=5) from None
    queue = task.request.delivery_info.get("routing_key") or outcome.queue
    if outcome.action == "handed_back":
        # This worker cannot run the queue's jobs: it stops taking them before sending this one back, so the
        # job goes to a worker that can (or waits for one) instead of coming back here.
        _stop_consuming(task, queue)
        runtime.dispatcher.enqueue(submission_id, queue)
    elif outcome.action == "retry":
        runtime.dispatcher.enqueue(submission_id, queue, outcome.retry_in_s)
    return outcome.action


def _stop_consuming(task: Task, queue: str) -> None:
    """Tell this worker process (by its node name) to stop consuming ``queue``; it keeps its other queues."""
    hostname = task.request.hostname
    try:
        replies = task.app.control.cancel_consumer(queue, destination=[hostname], reply=True, timeout=5)
    except Exception as error:  # noqa: BLE001 (the job is sent back either way)
        replies = []
        log.warning("could not stop consuming %s: %s", queue, error)
    log.warning("worker %s stopped taking jobs from the %s queue: it cannot give a sandbox a GPU (%s)",
                hostname, queue, replies or "no reply")
