"""Releases: run the gate on ``assignments/<name>``, publish what passes as the current version."""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.authoring.config import CONFIG_FILE, AssignmentConfigError
from grader.authoring.released import ReleaseError, load_released
from grader.authoring.schedule import ReleaseOrderError
from grader.blobs import BlobStore
from grader.db import Assignment, AssignmentVersion, User, utcnow
from grader.service.assignments import find_assignment
from grader.service.errors import Invalid, NotFound, Unprocessable
from grader.service.paths import scrub, scrub_all, shown
from grader.settings import Settings

if TYPE_CHECKING:
    from grader.authoring.release import Release

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass
class Published:
    version: AssignmentVersion
    report: dict
    report_text: str


def release_assignment(session: Session, settings: Settings, name: str, by: User | None,
                       seed: int | None = None) -> Published:
    """Run the release gate on ``<assignments_dir>/<name>`` and, if it passes, publish it, in one call.

    ``grader.service.gates`` runs the same gate in the background and publishes it on request.

    Raises:
        ServiceError: 404 when there is no such assignment folder, 422 with the gate's report when it refuses,
            400 when the name or the assignment's toml is invalid.
    """
    assignment_folder(settings, name)
    try:
        outcome = gate_release(settings, name, seed, published_names(session),
                               published_starters(session, BlobStore(settings.blobs_dir)))
    except AssignmentConfigError as error:
        raise Invalid(invalid_config_message(settings, name, error)) from None
    report, text = scrub_all(outcome.report.to_dict(), settings), scrub(outcome.report.format(), settings)
    if not outcome.report.ok:
        raise Unprocessable(f"the release gate refused {name}; nothing was published", gate=report,
                            report=text)
    version = publish(session, BlobStore(settings.blobs_dir), outcome.autograder_dir, outcome.starter_zip, by,
                      settings)
    return Published(version, report, text)


def published_names(session: Session) -> frozenset[str]:
    """The assignments students have a release of (in a clash over an owned file, the other is at fault)."""
    return frozenset(session.scalars(select(Assignment.name)
                                     .where(Assignment.current_version_id.is_not(None))))


def published_starters(session: Session, blobs: BlobStore) -> dict:
    """Each published assignment's current starter zip (name -> ripple.Published), for the ripple notes."""
    from grader.authoring.ripple import Published as PublishedStarter

    found = {}
    rows = session.execute(select(Assignment.name, AssignmentVersion.version,
                                  AssignmentVersion.starter_sha256)
                           .join(AssignmentVersion, Assignment.current_version_id == AssignmentVersion.id))
    for name, version, sha256 in rows:
        path = blobs.path(sha256)
        if path.is_file():
            found[name] = PublishedStarter(path.read_bytes(), f"version {version}")
    return found


def assignment_folder(settings: Settings, name: str) -> Path:
    """``<assignments_dir>/<name>``, once the name is safe and the folder has an ``assignment.toml``.

    Raises:
        ServiceError: 400 for a name that is not one (it must not reach the file system), 404 without a toml.
    """
    if not name or set(name) - _NAME_CHARS:
        raise Invalid(f"{name!r} is not an assignment name (lowercase letters, digits, - and _)")
    folder = settings.assignments_dir / name
    if not (folder / "assignment.toml").is_file():
        raise NotFound(f"no assignment {name!r}: {shown(folder / 'assignment.toml', settings)} does not "
                       "exist")
    return folder


def gate_release(settings: Settings, name: str, seed: int | None = None,
                 published: frozenset[str] = frozenset(), starters: dict | None = None) -> Release:
    """Build and gate ``<assignments_dir>/<name>`` into a fresh ``<releases_dir>/<name>/<stamp>-<hex>``.

    The folder is kept only when the gate passes (it is what gets published); a refusal leaves nothing.

    Args:
        settings: where the assignments, the reference and the releases are.
        name: an assignment name already checked by ``assignment_folder``.
        seed: the gate's seed (default: random; it is in the report).
        published: the assignments students have a release of (``published_names``).
        starters: their current starter zips (``published_starters``): the report notes which ones this
            reference changes.

    Returns:
        The release: its gate report and, when the gate passed, the starter zip and autograder folder.

    Raises:
        AssignmentConfigError: when this assignment's toml is invalid or it owns another's file (another
            assignment's own problems are notes in the report).
    """
    from grader.authoring.release import release

    out = settings.releases_dir / name / f"{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    try:
        outcome = release(settings.assignments_dir / name, out, reference_package=settings.reference,
                          seed=seed, published=published, published_starters=starters or {})
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    if not outcome.report.ok:
        shutil.rmtree(out, ignore_errors=True)
    return outcome


def invalid_config_message(settings: Settings, name: str, error: AssignmentConfigError) -> str:
    """What to fix in an invalid ``assignment.toml``: one problem a line, paths as staff see them.

    Args:
        settings: where the folders are.
        name: the assignment whose gate or release failed.
        error: the problems, of ``name``'s file (or, should it come to that, of another assignment's: its
            file names it).
    """
    owner = error.path.parent.name if error.path.name == CONFIG_FILE else name
    if isinstance(error, ReleaseOrderError):  # a valid file, released too early
        return scrub(f"{owner} cannot be released yet:\n" + "\n".join(error.problems), settings)
    return scrub(f"{owner}'s {CONFIG_FILE} is invalid:\n" + "\n".join(error.problems), settings)


def publish(session: Session, blobs: BlobStore, autograder_dir: Path, starter_zip: Path,
            by: User | None = None, settings: Settings | None = None) -> AssignmentVersion:
    """Make a released autograder folder the assignment's current version (the same version twice: one row).

    ``settings`` show the paths of a refusal as staff see them (the data dir's).
    """
    try:
        released = load_released(autograder_dir)
    except ReleaseError as error:
        raise Invalid(scrub(str(error), settings) if settings else str(error)) from None
    manifest_file = autograder_dir / "release.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {}
    config = released.assignment
    assignment = find_assignment(session, config.name)
    if assignment is None:
        assignment = Assignment(name=config.name, title=config.title)
        session.add(assignment)
        session.flush()
    assignment.title = config.title
    version = session.scalar(select(AssignmentVersion).where(AssignmentVersion.assignment_id == assignment.id,
                                                             AssignmentVersion.version == released.version))
    if version is None:
        schedule = config.schedule
        version = AssignmentVersion(
            assignment_id=assignment.id, version=released.version,
            autograder_path=str(Path(autograder_dir).resolve()),
            starter_sha256=blobs.put(Path(starter_zip).read_bytes()), queue=str(config.queue),
            due_at=schedule.due if schedule else None,
            late_penalty_per_day=schedule.late_penalty_per_day if schedule else 0.0,
            last_late_day=schedule.last_late_day if schedule else 0,
            max_score=round(sum(p.points for p in released.points.values()), 6),
            gate_report=manifest.get("gate", {}), released_by=by.id if by else None)
        session.add(version)
        session.flush()
    assignment.current_version_id = version.id
    session.commit()
    return version
