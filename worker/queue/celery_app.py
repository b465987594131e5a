"""The Celery app on Redis: queues cpu, gpu and regrade; one task, ``beras.grade``, that calls ``grade_submission``."""

from __future__ import annotations

import logging

from celery import Celery
from kombu import Queue

from grader.settings import Settings
from worker.queue.dispatch import QUEUES

log = logging.getLogger("beras.worker")


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
        task_default_queue="cpu",
        task_queues=[Queue(name) for name in QUEUES],
        task_create_missing_queues=False,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    app.task(name="beras.grade", bind=True, max_retries=None, acks_late=True, reject_on_worker_lost=True)(_grade)
    return app


def _grade(task, submission_id: int) -> str:
    from sqlalchemy.exc import OperationalError

    from worker.grading.submission import grade_submission
    from worker.queue.process import runtime

    try:
        outcome = grade_submission(int(submission_id), runtime())
    except OperationalError as error:
        # The database is down before the job was claimed: try again shortly; the row is still queued.
        log.warning("submission %s: database unavailable (%s); retrying", submission_id, str(error).splitlines()[0])
        raise task.retry(countdown=5) from None
    if outcome.action == "retry":
        runtime().dispatcher.enqueue(submission_id, task.request.delivery_info.get("routing_key") or outcome.queue,
                                     outcome.retry_in_s)
    return outcome.action
