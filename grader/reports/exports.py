"""CSV exports for other systems: a Canvas gradebook import and a Gradescope-style per-assignment export."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from grader.db import Assignment
from grader.reports.course import CourseAssignment, CourseGradebook
from grader.reports.selection import assignment_grades, group_of, load_tests
from grader.spreadsheet import csv_text, safe_cell

__all__ = ["canvas_csv", "format_lateness", "gradescope_csv", "number", "safe_cell", "split_name"]

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
GRADESCOPE_FIXED = ["First Name", "Last Name", "SID", "Email", "Sections", "Total Score", "Max Points",
                    "Status", "Submission ID", "Submission Time", "Lateness (H:M:S)", "View Count",
                    "Submission Count"]
def number(value: float | None) -> str:
    """A number without trailing zeros, never in e-notation: ``92.5``, ``100``, ``2000000`` (not ``2e+06``).

    Args:
        value: the number, or None for an empty cell.

    Returns:
        The text, rounded to 6 decimals.
    """
    if value is None:
        return ""
    text = f"{round(value, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def canvas_csv(gradebook: CourseGradebook, assignments: Sequence[str] | None = None) -> str:
    """The course gradebook in Canvas's gradebook import layout.

    A header row (``Student, ID, SIS User ID, SIS Login ID, Section`` and one ``Title (name)`` column per
    assignment), a ``Points Possible`` row, then one row per student: the stored name (the email when there is
    none), an empty Canvas ID, the email as SIS user and login ID, an empty section, and each score after late
    penalties (empty when missing).

    Args:
        gradebook: a course gradebook.
        assignments: the assignment names to export, in this order; all of the gradebook's when None.

    Returns:
        The CSV text.

    Raises:
        ValueError: a name that is not a released assignment of the gradebook.
    """
    columns = _columns(gradebook, assignments)
    rows = [[*CANVAS_FIXED, *(column.label for _, column in columns)],
            ["Points Possible", "", "", "", "", *(number(column.max_score) for _, column in columns)]]
    for row in gradebook.rows:
        rows.append([row.name.strip() or row.email, "", row.email, row.email, "",
                     *(number(row.cells[index].score) for index, _ in columns)])
    return csv_text(rows)


def gradescope_csv(session: Session, assignment: Assignment, policy: str = "best") -> str:
    """One assignment's grades in Gradescope's export layout, with the points of each group of tests.

    ``Total Score`` is the score that counts (after the late penalty); the group columns are the points the
    counted submission earned on each points group (on each test when tests carry no group), before the
    penalty. ``Lateness`` is measured from the due date plus the student's extension. ``SID``, ``Sections``
    and ``View Count`` are not tracked and stay empty.

    Args:
        session: an open database session.
        assignment: the assignment.
        policy: which submission counts: ``best`` or ``latest``.

    Returns:
        The CSV text, one row per student on the roster (by email).

    Raises:
        ServiceError: an unknown policy (400).
    """
    grades = assignment_grades(session, assignment, policy)
    tests = load_tests(session, [counted.attempt.result_id for counted in grades.counted.values()])
    points = {result_id: _points(result_tests) for result_id, result_tests in tests.items()}
    maxima: dict[str, float] = {}
    for earned in points.values():
        for key, (_, most) in earned.items():
            maxima[key] = max(maxima.get(key, 0.0), most)
    rows: list[list[object]] = [[*GRADESCOPE_FIXED,
                                 *(f"{key} ({number(most)} pts)" for key, most in maxima.items())]]
    for student in grades.students:
        first, last = split_name(student.name)
        count = len(grades.attempts.get(student.id, []))
        counted = grades.counted.get(student.id)
        if counted is None:
            rows.append([first, last, "", student.email, "", "", number(grades.max_score), "Missing", "", "",
                         "", "", count, *([""] * len(maxima))])
            continue
        attempt = counted.attempt
        schedule = grades.schedules[attempt.version_id]
        late = _lateness(attempt.created_at, schedule.due_at, grades.extensions.get(student.id, 0))
        earned = points.get(attempt.result_id, {})
        rows.append([first, last, "", student.email, "", number(counted.score), number(grades.max_score),
                     "Graded", attempt.id, attempt.created_at.strftime("%Y-%m-%d %H:%M:%S %z"), late, "",
                     count,
                     *(number(earned[key][0]) if key in earned else "" for key in maxima)])
    return csv_text(rows)


def split_name(name: str) -> tuple[str, str]:
    """``(first, last)`` split at the last space (``"Ana de Souza"``: ``("Ana de", "Souza")``), or empty."""
    name = " ".join(name.split())
    first, _, last = name.rpartition(" ")
    return (first, last) if first else (last, "")


def format_lateness(delta: timedelta) -> str:
    """A duration as ``H:MM:SS`` (hours may pass 24); ``0:00:00`` for none or a negative one."""
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _lateness(submitted: datetime, due: datetime | None, extension: int) -> str:
    if due is None:
        return format_lateness(timedelta())
    return format_lateness(submitted - (due + timedelta(days=extension)))


def _points(tests: Iterable[dict]) -> dict[str, tuple[float, float]]:
    """Points earned and possible per group (per test name when a test has none), in the results' order."""
    totals: dict[str, tuple[float, float]] = {}
    for test in tests:
        key = group_of(test) or str(test.get("name", ""))
        earned, most = totals.get(key, (0.0, 0.0))
        totals[key] = (earned + float(test.get("score") or 0.0), most + float(test.get("max_score") or 0.0))
    return totals


def _columns(gradebook: CourseGradebook, names: Sequence[str] | None) -> list[tuple[int, CourseAssignment]]:
    """``(index in the gradebook, assignment)`` for each exported column."""
    indexed = {column.name: (index, column) for index, column in enumerate(gradebook.assignments)}
    if names is None:
        return list(indexed.values())
    unknown = [name for name in names if name not in indexed]
    if unknown:
        raise ValueError(f"not released assignments of this gradebook: {', '.join(unknown)}; "
                         f"expected some of: {', '.join(indexed) or 'none'}")
    return [indexed[name] for name in names]

