"""The reconciler: hands on jobs whose worker died (lease lapsed), re-sends queued ones the broker lost, and
queues deferred submissions once their queue has drained; the same for similarity checks."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import and_, or_, select, true, update

from grader.db import SimilarityRun, SimilarityStatus, Status, Submission, utcnow
from grader.dispatch import queue_for
from grader.runtime import Runtime

log = logging.getLogger("beras.reconcile")
# A submission stored but not yet sent is given this long before the reconciler sends it itself.
SEND_GRACE_S = 5.0


def reconcile(runtime: Runtime) -> list[int]:
    """One pass; returns the ids sent again.

    Safe to run from many processes at once (each step is a guarded update).
    """
    settings = runtime.settings
    now = utcnow()
    sent: list[tuple[int, str]] = []
    with runtime.sessions() as session:
        lapsed = session.execute(
            select(Submission.id, Submission.attempts, Submission.queue, Submission.regrade)
            .where(Submission.status == Status.RUNNING, Submission.lease_expires_at < now)).all()
        for submission_id, attempts, queue, regrade in lapsed:
            give_up = attempts >= settings.grade_attempts
            # The lapsed holder's token stays: if it was only late (a database outage), its result still
            # counts until another worker claims the job.
            values = ({"status": Status.FAILED,
                       "failure_reason": f"the worker grading it stopped {attempts} times"}
                      if give_up else {"status": Status.QUEUED, "queued_at": now, "enqueued_at": now})
            taken = session.execute(update(Submission).where(
                Submission.id == submission_id, Submission.status == Status.RUNNING,
                Submission.lease_expires_at < now)
                .values(lease_expires_at=None, **values)
                .execution_options(synchronize_session=False)).rowcount
            session.commit()
            if taken == 1:
                log.warning("submission %s: its worker stopped renewing the lease; %s", submission_id,
                            "recorded as failed to grade" if give_up else "queued again")
                if not give_up:
                    sent.append((submission_id, queue_for(queue, regrade)))
        stale = or_(and_(Submission.enqueued_at.is_(None),
                         Submission.queued_at < now - timedelta(seconds=SEND_GRACE_S)),
                    Submission.enqueued_at < now - timedelta(seconds=settings.queued_deadline_s))
        # Waiting to be sent: queued, or failed to grade on a worker without a GPU and handed back.
        waiting = or_(Submission.status == Status.QUEUED,
                      and_(Submission.status == Status.FAILED, Submission.awaiting_worker.is_(True)))
        due = session.execute(
            select(Submission.id, Submission.queue, Submission.regrade, Submission.enqueued_at)
            .where(waiting, stale, or_(Submission.not_before.is_(None), Submission.not_before <= now))).all()
        for submission_id, queue, regrade, enqueued_at in due:
            # Only one reconciler sends it: the one whose update still sees the old enqueued_at.
            taken = session.execute(update(Submission).where(
                Submission.id == submission_id, waiting,
                (Submission.enqueued_at.is_(None) if enqueued_at is None
                 else Submission.enqueued_at == enqueued_at))
                .values(enqueued_at=now).execution_options(synchronize_session=False)).rowcount
            session.commit()
            if taken == 1:
                sent.append((submission_id, queue_for(queue, regrade)))
        sent += _undefer(session, now)
    for submission_id, queue in sent:
        if not runtime.dispatcher.enqueue(submission_id, queue):
            with runtime.sessions() as session:  # not sent after all: the next pass tries again
                session.execute(update(Submission).where(Submission.id == submission_id)
                                .values(enqueued_at=None).execution_options(synchronize_session=False))
                session.commit()
    if sent:
        log.info("re-sent %d submission(s): %s", len(sent), ", ".join(str(i) for i, _ in sent))
    _resend_checks(runtime, now)
    return [i for i, _ in sent]


def _resend_checks(runtime: Runtime, now) -> list[int]:
    """Similarity checks: a lapsed lease is queued again (or failed after ``grade_attempts`` tries), and a
    queued check that was never sent, or sent longer than the queued deadline ago, is sent again."""
    settings = runtime.settings
    resend: list[int] = []
    with runtime.sessions() as session:
        lapsed = session.execute(select(SimilarityRun.id, SimilarityRun.attempts).where(
            SimilarityRun.status == SimilarityStatus.RUNNING, SimilarityRun.lease_expires_at < now)).all()
        for run_id, attempts in lapsed:
            give_up = attempts >= settings.grade_attempts
            values = ({"status": SimilarityStatus.FAILED, "stage": "failed", "finished_at": now,
                       "error": f"the worker running it stopped {attempts} times; start the check again"}
                      if give_up else {"status": SimilarityStatus.QUEUED, "stage": "waiting for a worker",
                                       "enqueued_at": now})
            taken = session.execute(update(SimilarityRun).where(
                SimilarityRun.id == run_id, SimilarityRun.status == SimilarityStatus.RUNNING,
                SimilarityRun.lease_expires_at < now)
                .values(lease_expires_at=None, **values)
                .execution_options(synchronize_session=False)).rowcount
            session.commit()
            if taken == 1 and not give_up:
                resend.append(run_id)
        stale = or_(SimilarityRun.enqueued_at.is_(None),
                    SimilarityRun.enqueued_at < now - timedelta(seconds=settings.queued_deadline_s))
        for run_id, created_at, enqueued_at in session.execute(select(
                SimilarityRun.id, SimilarityRun.created_at, SimilarityRun.enqueued_at)
                .where(SimilarityRun.status == SimilarityStatus.QUEUED, stale)).all():
            if enqueued_at is None and created_at > now - timedelta(seconds=SEND_GRACE_S):
                continue  # just recorded: its starter is sending it now
            taken = session.execute(update(SimilarityRun).where(
                SimilarityRun.id == run_id, SimilarityRun.status == SimilarityStatus.QUEUED,
                (SimilarityRun.enqueued_at.is_(None) if enqueued_at is None
                 else SimilarityRun.enqueued_at == enqueued_at))
                .values(enqueued_at=now).execution_options(synchronize_session=False)).rowcount
            session.commit()
            if taken == 1:
                resend.append(run_id)
    for run_id in resend:
        if not runtime.dispatcher.enqueue_similarity(run_id):
            with runtime.sessions() as session:  # not sent after all: the next pass tries again
                session.execute(update(SimilarityRun).where(SimilarityRun.id == run_id)
                                .values(enqueued_at=None).execution_options(synchronize_session=False))
                session.commit()
    if resend:
        log.info("re-sent %d similarity check(s): %s", len(resend), ", ".join(map(str, resend)))
    return resend


def _undefer(session, now) -> list[tuple[int, str]]:
    """Queue the deferred submissions of every queue that no new submission is waiting in, at regrade
    priority.

    A deferred submission is a student's older one that a newer one overtook; it is graded after the
    rush, never dropped, because under the "best" policy it can still be the one that counts.
    """
    busy = set(session.scalars(select(Submission.queue).where(
        Submission.status == Status.QUEUED, Submission.regrade.is_(False)).distinct()))
    deferred = session.execute(select(Submission.id, Submission.queue).where(
        Submission.status == Status.DEFERRED, Submission.queue.not_in(busy) if busy else true())
        .order_by(Submission.id)).all()
    sent = []
    for submission_id, queue in deferred:
        taken = session.execute(update(Submission).where(
            Submission.id == submission_id, Submission.status == Status.DEFERRED)
            .values(status=Status.QUEUED, queued_at=now, enqueued_at=now)
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
        if taken == 1:
            sent.append((submission_id, queue_for(queue, True)))
    return sent


class Reconciler:
    """Runs ``reconcile`` every ``settings.reconcile_every_s`` in a daemon thread."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reconciler", daemon=True)

    def start(self) -> Reconciler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.runtime.settings.reconcile_every_s):
            try:
                reconcile(self.runtime)
            except Exception as error:  # noqa: BLE001 (the database may be down; try again next pass)
                log.warning("reconcile pass failed: %s", str(error).splitlines()[0])
