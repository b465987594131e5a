"""run_similarity(id): the similarity check's job body, whatever the transport; a claim makes it run once."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import and_, delete, or_, update

from grader.authoring.released import released_at
from grader.db import SimilarityPair, SimilarityRun, SimilarityStatus, utcnow
from grader.runtime import Runtime
from grader.service.similarity import students_latest, submission_files
from worker.grading.submission import WORKER
from worker.lease import Heartbeat

log = logging.getLogger("beras.similarity")
PROGRESS_EVERY_S = 1.0  # at most one progress write a second: a page polls it, nothing needs it finer


class _Lost(Exception):
    """Another worker holds the check now (this one's lease lapsed); this one stops without writing."""


def archive_folders(runtime: Runtime, assignment: str) -> list[Path]:
    """The archive's offerings for ``assignment``: ``<similarity archive>/<assignment>/<offering>/*.zip``
    (zips directly in the assignment's folder count as one offering), in name order."""
    root = runtime.settings.similarity_archive_dir / assignment
    if not root.is_dir():
        return []
    folders = sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
    if any(path.suffix.lower() == ".zip" for path in root.iterdir() if path.is_file()):
        folders.insert(0, root)
    return folders


def run_similarity(run_id: int, runtime: Runtime) -> str:
    """Run check ``run_id`` if it is waiting (or its holder's lease lapsed): compare each student's latest
    submission with every other's and with the archive, the release's starter excluded, and store the pairs
    at or above its threshold.

    Returns:
        ``done``, ``failed`` (the run records why), ``skipped`` (nothing to do) or ``lost`` (another
        worker took it over).
    """
    token = uuid.uuid4().hex
    if not _claim(runtime, run_id, token):
        return "skipped"
    heartbeat = Heartbeat(runtime, SimilarityRun, run_id, token)
    heartbeat.start()
    try:
        _check(runtime, run_id, token)
    except _Lost:
        log.warning("similarity check %s: another worker took it over; this result is dropped", run_id)
        return "lost"
    except Exception as error:  # noqa: BLE001 (recorded on the run, where staff see it)
        log.exception("similarity check %s failed", run_id)
        # A ValueError is the check's own refusal (an archived zip intake refuses, say): its words name it.
        message = str(error) if isinstance(error, ValueError) else (
            f"the check stopped on an internal error ({type(error).__name__}: {error}); the worker's log "
            "has the traceback")
        return "failed" if _finish(runtime, run_id, token, SimilarityStatus.FAILED, error=message) else "lost"
    finally:
        heartbeat.stop()
    return "done"


def _claim(runtime: Runtime, run_id: int, token: str) -> bool:
    now = utcnow()
    waiting = or_(SimilarityRun.status == SimilarityStatus.QUEUED,
                  and_(SimilarityRun.status == SimilarityStatus.RUNNING,
                       SimilarityRun.lease_expires_at < now))
    with runtime.sessions() as session:
        claimed = session.execute(
            update(SimilarityRun).where(SimilarityRun.id == run_id, waiting)
            .values(status=SimilarityStatus.RUNNING, lease_token=token, attempts=SimilarityRun.attempts + 1,
                    started_at=now, worker=WORKER, stage="reading submissions", done=0, total=0,
                    lease_expires_at=now + timedelta(seconds=runtime.settings.lease_s))
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
    return claimed == 1


def _check(runtime: Runtime, run_id: int, token: str) -> None:
    from grader.similarity import SimilaritySettings, compare_submissions
    from grader.similarity import Submission as Compared
    from grader.similarity.inputs import read_zips, starter_files

    with runtime.sessions() as session:
        run = session.get(SimilarityRun, run_id)
        name, threshold, autograder = run.assignment.name, run.threshold, run.version.autograder_path
        latest = students_latest(session, run.assignment)
    released = released_at(autograder)
    owned = released.assignment.files.owned
    starter = starter_files(released.starter, owned)
    progress = _Progress(runtime, run_id, token)
    current, by_name = [], {}
    progress("reading submissions", 0, len(latest))
    for n, (submission_id, email, blob) in enumerate(latest, 1):
        files = submission_files(runtime.blobs, blob, owned)
        if files:  # a submission with no owned file left (a lost blob) has nothing to compare
            key = f"{email}#{submission_id}"
            current.append(Compared(key, files))
            by_name[key] = submission_id
        progress("reading submissions", n, len(latest))
    archive = [sub for folder in archive_folders(runtime, name)
               for sub in read_zips(folder, owned, archived=True)]
    pairs = compare_submissions(starter, current, archive, SimilaritySettings(threshold=threshold),
                                progress=progress)
    flagged = [pair for pair in pairs if pair.score >= threshold]
    shown = {pair.b for pair in flagged if pair.b_archived}
    archive_files = {sub.name: sub.files for sub in archive if sub.name in shown}
    compared = len(current) * (len(current) - 1) // 2 + len(current) * len(archive)
    rows = [SimilarityPair(run_id=run_id, a_submission_id=by_name[pair.a],
                           b_submission_id=None if pair.b_archived else by_name[pair.b],
                           b_name=pair.b if pair.b_archived else "", score=pair.score, score_ab=pair.score_ab,
                           score_ba=pair.score_ba, files=[_file_row(match) for match in pair.files])
            for pair in flagged]
    if not _finish(runtime, run_id, token, SimilarityStatus.DONE, rows=rows, submissions=len(current),
                   archived=len(archive), pairs_compared=compared, archive_files=archive_files):
        raise _Lost()
    log.info("similarity check %s of %s: %d submissions, %d archived, %d pairs flagged", run_id, name,
             len(current), len(archive), len(rows))


def _file_row(match) -> dict:
    return {"path": match.path, "matched_a": match.matched_a, "matched_b": match.matched_b,
            "lines_a": [list(lines) for lines in match.lines_a],
            "lines_b": [list(lines) for lines in match.lines_b]}


def _finish(runtime: Runtime, run_id: int, token: str, status: SimilarityStatus,
            rows: list[SimilarityPair] = (), **values) -> bool:
    """Store the outcome if the lease is still this call's; False when another worker holds it."""
    with runtime.sessions() as session:
        kept = session.execute(
            update(SimilarityRun).where(SimilarityRun.id == run_id, SimilarityRun.lease_token == token)
            .values(status=status, finished_at=utcnow(), lease_expires_at=None, lease_token=None,
                    stage="done" if status == SimilarityStatus.DONE else "failed", **values)
            .execution_options(synchronize_session=False)).rowcount
        if kept != 1:
            session.rollback()
            return False
        session.execute(delete(SimilarityPair).where(SimilarityPair.run_id == run_id))  # a retried run's
        session.add_all(rows)
        session.commit()
    return True


class _Progress:
    """Writes the stage and counts to the run, at most once a second (and at each stage's start and end)."""

    def __init__(self, runtime: Runtime, run_id: int, token: str) -> None:
        self.runtime, self.run_id, self.token = runtime, run_id, token
        self._last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if not (done in (0, total) or now - self._last >= PROGRESS_EVERY_S):
            return
        self._last = now
        with self.runtime.sessions() as session:
            kept = session.execute(
                update(SimilarityRun).where(SimilarityRun.id == self.run_id,
                                            SimilarityRun.lease_token == self.token)
                .values(stage=stage, done=done, total=total)
                .execution_options(synchronize_session=False)).rowcount
            session.commit()
        if kept != 1:
            raise _Lost()
