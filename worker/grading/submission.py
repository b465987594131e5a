"""grade_submission(id): the task body, whatever the transport; a claim in the database makes it run once."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_, update

from grader.authoring.released import released_at
from grader.db import AssignmentVersion, Result, Status, Submission, utcnow
from grader.db.retry import retry_database
from grader.dispatch import QueueName
from grader.harness.jobspec import JUDGE_LOG, STUDENT_LOG
from grader.result import WORKER_FAILURE_KEYS, GradeResult, ResultStatus
from grader.runtime import Runtime
from worker.grading.grade import grade_zip, sandbox_limits
from worker.lease import Heartbeat
from worker.runtime import WorkerRuntime
from worker.sandbox import GpuUnavailable

log = logging.getLogger("beras.grade")
WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Outcome:
    """What one call did: ``graded``, ``failed``, ``retry`` (after ``retry_in_s``), ``skipped``, ``lost``, or
    ``handed_back`` (recorded as failed to grade here, for another worker of ``queue`` to grade)."""

    action: str
    detail: str = ""
    retry_in_s: float = 0.0
    queue: str = "cpu"


def grade_submission(submission_id: int, runtime: WorkerRuntime) -> Outcome:
    """Grade one stored submission, at most once in effect, however often it is delivered.

    The job is claimed by a guarded update (queued, or running with a lapsed lease); a heartbeat keeps the
    lease while the sandbox runs; the result is written only if the lease is still this call's, so a
    redelivered or reconciled duplicate never grades twice nor overwrites a newer result.

    A gpu-queue job on a worker that cannot give its sandbox a GPU is not run: it is recorded as failed to
    grade, with the reason, and handed back (``handed_back``) for a worker with a GPU, whose result then
    replaces it.
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
    stamps = {"received_at": received_at, "queued_at": queued_at, "started_at": started}
    gpu = queue == QueueName.GPU
    no_gpu = _gpu_missing(runtime) if gpu else None
    if no_gpu:
        return _hand_back(runtime, submission_id, token, version_id, no_gpu, attempt, stamps, queue)
    heartbeat = Heartbeat(runtime, Submission, submission_id, token)
    heartbeat.start()
    try:
        result = _run_engine(runtime, blob, path, replay_seed, gpu)
    except GpuUnavailable as error:  # the probe was skipped (GRADER_GPU=yes) or wrong: Docker said no
        return _hand_back(runtime, submission_id, token, version_id, str(error), attempt, stamps, queue)
    finally:
        heartbeat.stop()
    stamps["finished_at"] = utcnow()
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
    """Take the job if it is waiting (or its holder's lease lapsed, or a worker that could not run it handed
    it back); return the start time, or None."""
    now = utcnow()
    waiting = or_(and_(Submission.status == Status.QUEUED,
                       or_(Submission.not_before.is_(None), Submission.not_before <= now)),
                  and_(Submission.status == Status.RUNNING, Submission.lease_expires_at < now),
                  and_(Submission.status == Status.FAILED, Submission.awaiting_worker.is_(True)))
    with runtime.sessions() as session:
        claimed = session.execute(
            update(Submission).where(Submission.id == submission_id, waiting)
            .values(status=Status.RUNNING, lease_token=token, attempts=Submission.attempts + 1,
                    started_at=now, awaiting_worker=False,
                    worker=WORKER,
                    lease_expires_at=now + timedelta(seconds=runtime.settings.lease_s))
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
    return now if claimed == 1 else None


def _gpu_missing(runtime: WorkerRuntime) -> str | None:
    try:
        return runtime.gpu_missing()
    except Exception as error:  # noqa: BLE001 (a probe that cannot run cannot give a GPU either)
        return f"the GPU check could not run: {type(error).__name__}: {error}"


def _hand_back(runtime: WorkerRuntime, submission_id: int, token: str, version_id: int, why: str,
               attempt: int, stamps: dict, queue: str) -> Outcome:
    """Record a gpu job this worker cannot run as failed to grade, for a worker with a GPU to take over."""
    output = (f"Could not be graded yet: this assignment is graded with a GPU, and the worker that took it "
              f"({WORKER}) cannot give its sandbox one: {why}. Nothing was scored; it went back to the "
              f"{queue} queue and is graded as soon as a worker with a GPU takes it.")
    result = GradeResult.not_graded(output, WORKER_FAILURE_KEYS)
    stamps = {**stamps, "finished_at": utcnow()}
    if not retry_database(runtime, lambda: _store(runtime, submission_id, token, version_id, result,
                                                  Status.FAILED, attempt, stamps, awaiting=True),
                          f"store the failure of submission {submission_id}"):
        return Outcome("lost", "the lease passed to another worker before the failure was stored")
    log.warning("submission %s: no GPU on this worker (%s); handed back to the %s queue", submission_id, why,
                queue)
    return Outcome("handed_back", output, queue=queue)


def _run_engine(runtime: WorkerRuntime, blob: str, autograder_path: str, seed: int | None = None,
                gpu: bool = False) -> GradeResult:
    """The engine's result; anything that goes wrong on our side becomes an ``error`` result, never a zero.

    A ``seed`` (a replay's) repeats an earlier run; the result then says ``"replay": true``. ``gpu`` gives the
    sandbox a GPU.

    Raises:
        GpuUnavailable: ``gpu`` and the sandbox cannot have one here (the job is for another worker).
    """
    try:
        released = released_at(autograder_path)
        data = runtime.blobs.get(blob)
        sandbox = runtime.sandbox()
        with tempfile.TemporaryDirectory(prefix="beras-logs-") as logs:
            # A gpu job's limits ask for a GPU; any other's are the assignment's, as grade_zip reads them.
            gpu_limits = {"limits": sandbox_limits(released, gpu=True)} if gpu else {}
            result = grade_zip(released, data, sandbox, seed=seed, keep=Path(logs), **gpu_limits)
            result = result.model_copy(update={"logs": {
                name: runtime.blobs.put((Path(logs) / name).read_bytes())
                for name in (JUDGE_LOG, STUDENT_LOG) if (Path(logs) / name).is_file()}})
        if seed is not None:
            result = result.model_copy(update={"replay": True})
        return result
    except GpuUnavailable:
        raise
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
           status: Status, attempt: int, stamps: dict, awaiting: bool = False) -> bool:
    """Write the result and make it current, in one transaction, only while this call holds the lease.

    ``awaiting``: the failure is this worker's (no GPU): the submission waits for another worker.
    """
    with runtime.sessions() as session:
        row = Result(submission_id=submission_id, version_id=version_id, status=result.status.value,
                     score=float(result.score), max_score=float(result.max_score),
                     data=result.to_json(), worker=WORKER, attempt=attempt, stored_at=utcnow(), **stamps)
        session.add(row)
        session.flush()
        values = {"status": status, "lease_token": None, "lease_expires_at": None,
                  "failure_reason": result.output[:2000] if status == Status.FAILED else "",
                  "awaiting_worker": awaiting}
        if awaiting:
            values["enqueued_at"] = utcnow()  # it is sent again at once; the reconciler counts from here
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
