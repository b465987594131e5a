"""Schedules across assignments: when one may ship another's solutions, and dates as students read them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from grader.authoring.build import ownership
from grader.authoring.config import CONFIG_FILE, Assignment, AssignmentConfigError, Schedule, load_assignment


class ReleaseOrderError(AssignmentConfigError):
    """A release that would ship the solutions of an assignment students may still submit; str() says why."""


def moment(value: datetime) -> str:
    """A moment in the offset it was written in, with UTC beside it: ``2027-02-08 23:59 (UTC-05:00) ·
    2027-02-09 04:59 UTC``; a moment written in UTC is shown once."""
    utc = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    offset = value.utcoffset()
    if not offset:
        return utc
    return f"{value.strftime('%Y-%m-%d %H:%M')} (UTC{_offset(value)}) · {utc}"


def _offset(value: datetime) -> str:
    text = value.strftime("%z")  # "-0500"
    return f"{text[:3]}:{text[3:]}"


def readme_schedule(schedule: Schedule | None) -> str:
    """The starter README's paragraph on dates: opening, due date, late policy; empty without a schedule."""
    if schedule is None:
        return ""
    text = f"Due {moment(schedule.due)}."
    if schedule.opens is not None:
        text = f"Opens {moment(schedule.opens)}. " + text
    if schedule.last_late_day:
        text += (f" Late submissions lose {schedule.late_penalty_per_day:.0%} of their score per day and are "
                 f"accepted for {schedule.last_late_day} day(s) after the due date, until "
                 f"{moment(schedule.closes_at)}.")
    else:
        text += " Late submissions are not accepted."
    return text


def check_released_solutions(assignment: Assignment, reference_package: Path,
                             now: datetime | None = None) -> None:
    """Refuse to ship another assignment's solutions (``files.solutions_released``) while it is still open.

    The release is refused when the moment its students first get the starter, ``max(now, opens)``, comes
    before the owner's close (its due date plus its last late day). An owner without a ``[schedule]`` never
    closes, and an owner whose assignment.toml is invalid has no close that can be read: both count as open.
    A released file that no assignment owns protects nobody and is not checked.

    Args:
        assignment: the assignment being released; its siblings in ``assignment.root.parent`` are the owners.
        reference_package: the marked reference package (to find each file's owner).
        now: the moment of the release (default: the current time).

    Raises:
        ReleaseOrderError: one problem per open owner, naming the owner, its closing date (in the owner's
            offset and in UTC) and the two fixes.
    """
    released = assignment.files.solutions_released
    if not released:
        return
    now = now or datetime.now(UTC)
    owners = ownership(assignment.root.parent, reference_package, assignment.name).owners
    by_owner: dict[str, list[str]] = {}
    for path in released:
        if owners.get(path, assignment.name) != assignment.name:
            by_owner.setdefault(owners[path], []).append(path)
    schedule = assignment.schedule
    opens = schedule.opens if schedule is not None else None
    starts = max(now, opens) if opens is not None else now
    if opens is None or opens < now:
        when = f"students get this starter as soon as it is published ({moment(now)})" + (
            "" if opens is None else f", since its opens ({moment(opens)}) has passed")
    else:
        when = f"{assignment.name} opens {moment(opens)}"
    head = f"{assignment.name}/{CONFIG_FILE}: files.solutions_released"
    fix_files = "or drop {files} from files.solutions_released"
    problems = []
    for owner, paths in sorted(by_owner.items()):
        files = ", ".join(paths)
        try:
            owner_schedule = load_assignment(assignment.root.parent / owner).schedule
        except AssignmentConfigError:
            problems.append(f"{head}: {files} are {owner}'s solutions, and {owner}'s {CONFIG_FILE} is "
                            "invalid, so its closing date is unknown and it counts as open; fix "
                            f"{owner}/{CONFIG_FILE}, "
                            + fix_files.format(files=files))
            continue
        if owner_schedule is None:
            problems.append(f"{head}: {files} are {owner}'s solutions, and {owner} has no [schedule], so it "
                            f"is open for ever and its solutions never ship; give {owner} a [schedule] due "
                            f"date and set [schedule] opens of {assignment.name} on or after its close, "
                            + fix_files.format(files=files))
            continue
        closes = owner_schedule.closes_at
        if starts >= closes:
            continue
        problems.append(
            f"{head}: {files} are {owner}'s solutions, and {owner} is still open when {when}: {owner} closes "
            f"{moment(closes)} (due {owner_schedule.due.isoformat()} plus {owner_schedule.last_late_day} "
            f"late day(s)). Set [schedule] opens = {closes.isoformat()} or later in "
            f"{assignment.name}/{CONFIG_FILE}, "
            + fix_files.format(files=files))
    if problems:
        raise ReleaseOrderError(assignment.config_path, problems)
