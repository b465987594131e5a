"""Release gates in the background: start a run, run it in a thread, follow it, publish what passed."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import traceback
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.authoring.config import AssignmentConfigError
from grader.blobs import BlobStore
from grader.db import AssignmentVersion, GateRun, GateStatus, User, utcnow
from grader.db.retry import retry_database
from grader.runtime import Runtime
from grader.service.assignments import find_assignment
from grader.service.errors import Conflict, Invalid, ServiceError, not_found
from grader.service.paths import scrub, scrub_all, shown
from grader.service.release_diff import ReleaseDiff, ReleaseDiffError, compare, read_release
from grader.service.releases import (
    assignment_folder,
    gate_release,
    invalid_config_message,
    publish,
    published_names,
    published_starters,
)
from grader.settings import Settings

log = logging.getLogger("beras.gate")
INTERRUPTED = "interrupted: the server stopped while the gate ran; run it again"
MAX_SEED = 2**31  # the gate's seeds are 31-bit (and fit PostgreSQL's integer)


def start_gate(session: Session, settings: Settings, name: str, by: User | None,
               seed: int | None = None) -> GateRun:
    """Record a new ``running`` gate run for ``name`` (``launch_gate`` then runs it).

    Args:
        session: the database session (committed here).
        settings: where the assignments are.
        name: the assignment's folder name under ``settings.assignments_dir``.
        by: who started it.
        seed: the gate's seed; default a random one, recorded so the run can be repeated.

    Returns:
        The committed row.

    Raises:
        ServiceError: 400 for an invalid name or seed, 404 without ``<name>/assignment.toml``, 409 while a
            gate for the same assignment is still running.
    """
    assignment_folder(settings, name)
    if seed is not None and not 0 <= seed < MAX_SEED:
        raise Invalid(f"the seed must be between 0 and {MAX_SEED - 1}; got {seed}")
    running = _running(session, name)
    if running is not None:
        raise _busy(name, running)
    gate = GateRun(assignment_name=name, status=GateStatus.RUNNING,
                   seed=seed if seed is not None else secrets.randbits(31), started_at=utcnow(),
                   started_by=by.id if by else None, report={}, report_text="", error="", autograder_path="",
                   starter_path="")
    session.add(gate)
    try:
        session.commit()
    except IntegrityError:
        # Another request started one between our check and our insert: the unique index let only it in.
        session.rollback()
        raise _busy(name, _running(session, name)) from None
    return gate


def run_gate(runtime: Runtime, gate_id: int) -> None:
    """Run gate ``gate_id`` (a ``running`` row) to its end and record it; never raises.

    ``passed`` keeps the release folder for ``publish_gate``; ``refused`` (a failed check or an invalid toml)
    keeps the report and removes the folder; anything unexpected is ``error`` with the traceback in the log.
    """
    try:
        with runtime.sessions() as session:
            gate = session.get(GateRun, gate_id)
            if gate is None or gate.status != GateStatus.RUNNING:
                log.warning("gate %s is not waiting to run (%s); nothing done", gate_id,
                            "no such row" if gate is None else gate.status)
                return
            name, seed = gate.assignment_name, gate.seed
            published = published_names(session)
            starters = published_starters(session, runtime.blobs)
        log.info("gate %s: running the release gate on %s (seed %s)", gate_id, name, seed)
        values = _outcome(runtime.settings, name, seed, published, starters)
    except Exception as error:  # noqa: BLE001 (a thread has no caller to raise to: the row must end)
        log.error("gate %s failed on our side:\n%s", gate_id, traceback.format_exc())
        values = {"status": GateStatus.ERROR,
                  "error": scrub(f"the gate could not run: {type(error).__name__}: {error}. "
                                 "The server log has the details; fix the cause and run it again",
                                 runtime.settings)}
    values["finished_at"] = utcnow()
    try:
        recorded = retry_database(runtime, lambda: _finish(runtime, gate_id, values),
                                  f"record the end of gate {gate_id}")
    except Exception:  # noqa: BLE001
        log.error("gate %s: could not record its end (%s); it shows as interrupted after the next "
                  "restart:\n%s", gate_id, values["status"], traceback.format_exc())
        return
    if recorded:
        log.info("gate %s: %s", gate_id, values["status"])
    else:
        log.warning("gate %s ended (%s) but its row was no longer running; left as it is", gate_id,
                    values["status"])


def launch_gate(runtime: Runtime, gate_id: int) -> threading.Thread:
    """Run ``run_gate`` in a daemon thread and return it (the gate takes tens of seconds; a request must not).

    A daemon thread dies with the server; ``fail_interrupted_gates`` ends its row at the next start.
    """
    thread = threading.Thread(target=run_gate, args=(runtime, gate_id), name=f"gate-{gate_id}", daemon=True)
    thread.start()
    return thread


def publish_gate(session: Session, runtime: Runtime, gate_id: int, by: User | None,
                 against: str | None = None) -> AssignmentVersion:
    """Publish what gate ``gate_id`` passed as its assignment's current version.

    Args:
        session: the database session (committed here).
        runtime: the blob store the starter goes into, and the settings that say where the folders are.
        gate_id: the gate run.
        by: who publishes it.
        against: the version the publisher saw the changes against (``NOTHING_PUBLISHED`` for a first
            release); None does not check it.

    Returns:
        The version now current (the same release twice is the same version).

    Raises:
        ServiceError: 404 for an unknown gate; 409 unless it passed and was not published yet, when its
            release folder is gone, when it is no longer current (a version released after it started is
            published), or when the published version is no longer ``against``.
    """
    gate = session.get(GateRun, gate_id)
    if gate is None:
        raise not_found("gate run", gate_id)
    if gate.status != GateStatus.PASSED:
        why = {GateStatus.RUNNING: "it is still running; wait until it passed",
               GateStatus.REFUSED: "the gate refused it; fix what the report lists and run the gate again",
               GateStatus.ERROR: "it could not run; run the gate again"}[gate.status]
        raise Conflict(f"gate {gate_id} ({gate.assignment_name}) is {gate.status}, so it cannot be "
                       f"published: {why}", gate_status=str(gate.status))
    if gate.version_id is not None:
        raise Conflict(f"gate {gate_id} was already published as {gate.assignment_name} version "
                       f"{gate.version.version}; run the gate again to publish a newer release")
    autograder, starter = Path(gate.autograder_path), Path(gate.starter_path)
    if not autograder.is_dir() or not starter.is_file():
        raise Conflict(f"gate {gate_id}'s release files are gone ({shown(autograder, runtime.settings)}); "
                       "run the gate again")
    _check_current(session, gate, autograder, against)
    version = publish(session, runtime.blobs, autograder, starter, by, runtime.settings)
    gate.version_id, gate.published_at = version.id, utcnow()
    session.commit()
    return version


def fail_interrupted_gates(session: Session) -> int:
    """Mark every gate still ``running`` as ``error`` (call at server start: no thread runs them any more).

    Returns:
        How many rows it ended.
    """
    ended = session.execute(update(GateRun).where(GateRun.status == GateStatus.RUNNING)
                            .values(status=GateStatus.ERROR, error=INTERRUPTED, finished_at=utcnow())
                            .execution_options(synchronize_session=False)).rowcount
    session.commit()
    if ended:
        log.warning("%d gate run(s) were interrupted by the last stop; marked as error", ended)
    return ended


def get_gate(session: Session, gate_id: int) -> GateRun:
    """The gate run with that id.

    Raises:
        NotFound: there is none.
    """
    gate = session.get(GateRun, gate_id)
    if gate is None:
        raise not_found("gate run", gate_id)
    return gate


def gate_view(gate: GateRun) -> dict:
    """The gate run as the API shows it."""
    return {"id": gate.id, "assignment": gate.assignment_name, "status": str(gate.status), "seed": gate.seed,
            "started_at": gate.started_at.isoformat(),
            "finished_at": gate.finished_at.isoformat() if gate.finished_at else None,
            "started_by": gate.user.email if gate.user else None, "report": gate.report,
            "report_text": gate.report_text, "error": gate.error, "published": gate.version_id is not None,
            "version": gate.version.version if gate.version else None,
            "published_at": gate.published_at.isoformat() if gate.published_at else None,
            "url": f"/api/gates/{gate.id}"}


NOTHING_PUBLISHED = "none"  # ``against`` for a first release


def gate_changes(session: Session, blobs: BlobStore, gate: GateRun) -> ReleaseDiff | None:
    """What a passed, unpublished gate would change against the assignment's published version.

    Returns:
        The diff (``first`` when nothing is published yet); None when the gate is not waiting to be published.

    Raises:
        ServiceError: 409 when the gate's or the published version's release files cannot be read.
    """
    if gate.status != GateStatus.PASSED or gate.version_id is not None:
        return None
    try:  # the messages name the folders, never a server path (staff see paths as the data dir's only)
        new = read_release(Path(gate.autograder_path), Path(gate.starter_path).read_bytes())
    except ReleaseDiffError as error:
        raise Conflict(f"gate {gate.id}'s release cannot be read ({error}); run the gate again") from None
    except OSError:
        raise Conflict(f"gate {gate.id}'s starter zip is gone; run the gate again") from None
    current = _published(session, gate.assignment_name)
    if current is None:
        return compare(None, new)
    unreadable = (f"the published version {current.version} of {gate.assignment_name} cannot be read to "
                  "compare with")
    try:
        old = read_release(Path(current.autograder_path), blobs.get(current.starter_sha256))
    except ReleaseDiffError as error:
        raise Conflict(f"{unreadable} ({error}); publishing still works") from None
    except OSError:
        raise Conflict(f"{unreadable} (its starter zip is missing from the blob store); publishing "
                       "still works") from None
    return compare(old, new)


def changes_view(session: Session, blobs: BlobStore, gate: GateRun) -> dict | None:
    """``gate_changes`` as JSON for staff, or ``{"error": ...}`` when they cannot be computed."""
    try:
        diff = gate_changes(session, blobs, gate)
    except ServiceError as error:
        return {"error": error.message}
    return diff.to_dict() if diff else None


def recent_gates(session: Session, name: str, limit: int = 20) -> list[GateRun]:
    """The last ``limit`` gate runs of assignment ``name``, newest first."""
    return list(session.scalars(select(GateRun).where(GateRun.assignment_name == name)
                                .order_by(GateRun.id.desc()).limit(limit)))


def _outcome(settings: Settings, name: str, seed: int | None, published: frozenset[str],
             starters: dict | None = None) -> dict:
    """The gate's end as the columns to write; every path in the report as staff see it."""
    try:
        outcome = gate_release(settings, name, seed, published, starters)
    except AssignmentConfigError as error:
        return {"status": GateStatus.REFUSED, "report_text": invalid_config_message(settings, name, error),
                "report": {"assignment": name, "seed": seed, "ok": False, "checks": [], "notes": [],
                           "config_problems": scrub_all(error.problems, settings)}}
    values = {"report": scrub_all(outcome.report.to_dict(), settings),
              "report_text": scrub(outcome.report.format(), settings)}
    if not outcome.report.ok:
        return {**values, "status": GateStatus.REFUSED}
    return {**values, "status": GateStatus.PASSED, "autograder_path": str(outcome.autograder_dir.resolve()),
            "starter_path": str(outcome.starter_zip.resolve())}


def _published(session: Session, name: str) -> AssignmentVersion | None:
    assignment = find_assignment(session, name)
    return assignment.current_version if assignment else None


def _check_current(session: Session, gate: GateRun, autograder: Path, against: str | None) -> None:
    """Refuse to publish a gate a later release overtook, or changes someone else's publish made stale."""
    current = _published(session, gate.assignment_name)
    manifest = autograder / "release.json"
    own = json.loads(manifest.read_text()).get("version") if manifest.is_file() else None
    if current is not None and current.version != own and current.released_at > gate.started_at:
        newer = session.scalar(select(GateRun.id).where(GateRun.version_id == current.id)
                               .order_by(GateRun.id.desc()).limit(1))
        source = f"by gate {newer}" if newer is not None else "by a release"
        raise Conflict(f"gate {gate.id} is no longer current: {gate.assignment_name} version "
                       f"{current.version} was published {source} at {current.released_at:%Y-%m-%d %H:%M} "
                       f"UTC, after gate {gate.id} started, so publishing it would replace that version "
                       "with an older state of the assignment's folder; run the gate again to publish the "
                       "folder as it is now", current_version=current.version)
    if against is None:
        return
    now = current.version if current is not None else NOTHING_PUBLISHED
    if against != now:
        seen = "nothing published" if against == NOTHING_PUBLISHED else f"version {against}"
        instead = (f"nothing of {gate.assignment_name} is published" if now == NOTHING_PUBLISHED
                   else f"{gate.assignment_name} version {now} is published")
        raise Conflict(f"the changes you saw for gate {gate.id} were against {seen}, but {instead} now; "
                       "look at the changes again (reload the gate's page) before publishing",
                       current_version=now)


def _finish(runtime: Runtime, gate_id: int, values: dict) -> bool:
    with runtime.sessions() as session:
        # Only a row still running: one a restart already marked interrupted stays as the restart left it.
        running = (GateRun.id == gate_id) & (GateRun.status == GateStatus.RUNNING)
        done = session.execute(update(GateRun).where(running).values(**values)
                               .execution_options(synchronize_session=False)).rowcount
        session.commit()
    return done == 1


def _running(session: Session, name: str) -> int | None:
    return session.scalar(select(GateRun.id).where(GateRun.assignment_name == name,
                                                   GateRun.status == GateStatus.RUNNING))


def _busy(name: str, gate_id: int | None) -> ServiceError:
    if gate_id is None:  # the other one ended between our insert and this look
        return Conflict(f"another release gate for {name} was started at the same moment; look at "
                        f"GET /api/assignments/{name}/gates, or start it again")
    return Conflict(f"a release gate for {name} is already running (gate {gate_id}); wait for it to "
                    f"finish (GET /api/gates/{gate_id}) before starting another", gate_id=gate_id)
