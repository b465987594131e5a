"""grade_submission(id): the task body, whatever the transport; a claim in the database makes it run once."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import DBAPIError, OperationalError

from grader.authoring.released import released_at
from grader.db import AssignmentVersion, Result, Status, Submission, utcnow
from grader.db.retry import retry_database
from grader.harness.jobspec import JUDGE_LOG, STUDENT_LOG
from grader.result import WORKER_FAILURE_KEYS, GradeResult, ResultStatus
from grader.runtime import Runtime
from worker.grading.grade import grade_zip
from worker.runtime import WorkerRuntime

log = logging.getLogger("beras.grade")
WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Outcome:
    """What one call did: ``graded``, ``failed``, ``retry`` (after ``retry_in_s``), ``skipped``, ``lost``."""

    action: str
    detail: str = ""
    retry_in_s: float = 0.0
    queue: str = "cpu"


def grade_submission(submission_id: int, runtime: WorkerRuntime) -> Outcome:
    """Grade one stored submission, at most once in effect, however often it is delivered.

    The job is claimed by a guarded update (queued, or running with a lapsed lease); a heartbeat keeps the
    lease while the sandbox runs; the result is written only if the lease is still this call's, so a
    redelivered or reconciled duplicate never grades twice nor overwrites a newer result.
    """
    token = uuid.uuid4().hex
    started = claim(runtime, submission_id, token)
    if started is None:
        return Outcome("skipped", f"submission {submission_id} is not waiting to be graded")
    with runtime.sessions() as session:
        submission = session.get(Submission, submission_id)
        version = session.get(AssignmentVersion, submission.version_id)
        attempt, queue, queued_at, received_at = (submission.attempts, submission.queue, submission.queued_at,
                                                  submission.created_at)
        blob, version_id, path = submission.blob_sha256, version.id, version.autograder_path
        replay_seed = submission.replay_seed  # set by a replay; None draws a fresh seed
    heartbeat = _Heartbeat(runtime, submission_id, token)
    heartbeat.start()
    try:
        result = _run_engine(runtime, blob, path, replay_seed)
    finally:
        heartbeat.stop()
    finished = utcnow()
    stamps = {"received_at": received_at, "queued_at": queued_at, "started_at": started,
              "finished_at": finished}
    if result.status is ResultStatus.ERROR and attempt < runtime.settings.grade_attempts:
        backoff = runtime.settings.retry_backoff_s * 2 ** (attempt - 1)
        why = result.output
        if retry_database(runtime, lambda: _requeue(runtime, submission_id, token, backoff, why),
                          f"re-queue submission {submission_id}"):
            log.warning("submission %s: infrastructure error on attempt %s (%s); retrying in %.0f s",
                        submission_id, attempt, why, backoff)
            return Outcome("retry", why, backoff, queue)
        return Outcome("lost", "another worker took the job over")
    status = Status.FAILED if result.status is ResultStatus.ERROR else Status.GRADED
    stored = retry_database(runtime, lambda: _store(runtime, submission_id, token, version_id, result, status,
                                                     attempt, stamps),
                            f"store the result of submission {submission_id}")
    if not stored:
        return Outcome("lost", "the lease passed to another worker before the result was stored")
    log.info("submission %s: %s, %s/%s", submission_id, status, result.score, result.max_score)
    return Outcome("graded" if status == Status.GRADED else "failed", result.output)


def claim(runtime: Runtime, submission_id: int, token: str) -> datetime | None:
    """Take the job if it is waiting (or its holder's lease lapsed); return the start time, or None."""
    now = utcnow()
    waiting = or_(and_(Submission.status == Status.QUEUED,
                       or_(Submission.not_before.is_(None), Submission.not_before <= now)),
                  and_(Submission.status == Status.RUNNING, Submission.lease_expires_at < now))
    with runtime.sessions() as session:
        claimed = session.execute(
            update(Submission).where(Submission.id == submission_id, waiting)
            .values(status=Status.RUNNING, lease_token=token, attempts=Submission.attempts + 1,
                    started_at=now,
                    worker=WORKER,
                    lease_expires_at=now + timedelta(seconds=runtime.settings.lease_s))
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
    return now if claimed == 1 else None


def _run_engine(runtime: WorkerRuntime, blob: str, autograder_path: str, seed: int | None = None
                ) -> GradeResult:
    """The engine's result; anything that goes wrong on our side becomes an ``error`` result, never a zero.

    A ``seed`` (a replay's) repeats an earlier run; the result then says ``"replay": true``.
    """
    try:
        released = released_at(autograder_path)
        data = runtime.blobs.get(blob)
        sandbox = runtime.sandbox()
        with tempfile.TemporaryDirectory(prefix="beras-logs-") as logs:
            result = grade_zip(released, data, sandbox, seed=seed, keep=Path(logs))
            result = result.model_copy(update={"logs": {
                name: runtime.blobs.put((Path(logs) / name).read_bytes())
                for name in (JUDGE_LOG, STUDENT_LOG) if (Path(logs) / name).is_file()}})
        if seed is not None:
            result = result.model_copy(update={"replay": True})
        return result
    except Exception as error:  # noqa: BLE001 (a grader bug or a lost sandbox must not lose the submission)
        log.error("grading failed on our side:\n%s", traceback.format_exc())
        return GradeResult.not_graded(
            f"Could not be graded: {type(error).__name__}: {error}. Nothing was scored.", WORKER_FAILURE_KEYS,
            problems=(traceback.format_exc(limit=5),))


def _requeue(runtime: Runtime, submission_id: int, token: str, backoff: float, why: str) -> bool:
    now = utcnow()
    with runtime.sessions() as session:
        done = session.execute(
            update(Submission).where(Submission.id == submission_id, Submission.lease_token == token,
                                     Submission.status == Status.RUNNING)
            .values(status=Status.QUEUED, lease_token=None, lease_expires_at=None, queued_at=now,
                    enqueued_at=now, not_before=now + timedelta(seconds=backoff), failure_reason=why[:2000])
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
    return done == 1


def _store(runtime: Runtime, submission_id: int, token: str, version_id: int, result: GradeResult,
           status: Status, attempt: int, stamps: dict) -> bool:
    """Write the result and make it current, in one transaction, only while this call holds the lease."""
    with runtime.sessions() as session:
        row = Result(submission_id=submission_id, version_id=version_id, status=result.status.value,
                     score=float(result.score), max_score=float(result.max_score),
                     data=result.to_json(), worker=WORKER, attempt=attempt, stored_at=utcnow(), **stamps)
        session.add(row)
        session.flush()
        values = {"status": status, "lease_token": None, "lease_expires_at": None,
                  "failure_reason": result.output[:2000] if status == Status.FAILED else ""}
        if status == Status.GRADED:
            values["current_result_id"] = row.id
        # Still ours if no other worker claimed it since: a lapsed lease the reconciler re-queued keeps our
        # token until someone else claims the job, so a result that was only late (a database outage) counts.
        updated = session.execute(
            update(Submission).where(Submission.id == submission_id, Submission.lease_token == token,
                                     Submission.status.in_((Status.RUNNING, Status.QUEUED)))
            .values(**values).execution_options(synchronize_session=False)).rowcount
        if updated != 1:
            session.rollback()
            return False
        session.commit()
    return True


class _Heartbeat:
    """Renews the job's lease every quarter lease while the sandbox runs; a dead worker's lease lapses."""

    def __init__(self, runtime: Runtime, submission_id: int, token: str) -> None:
        self.runtime, self.submission_id, self.token = runtime, submission_id, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{submission_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        lease = self.runtime.settings.lease_s
        while not self._stop.wait(lease / 4):
            try:
                with self.runtime.sessions() as session:
                    session.execute(update(Submission)
                                    .where(Submission.id == self.submission_id,
                                           Submission.lease_token == self.token)
                                    .values(lease_expires_at=utcnow() + timedelta(seconds=lease))
                                    .execution_options(synchronize_session=False))
                    session.commit()
            except (OperationalError, DBAPIError) as error:
                log.warning("submission %s: lease renewal failed (%s); trying again", self.submission_id,
                            str(error).splitlines()[0])

