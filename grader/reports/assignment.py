"""One assignment's report: who submitted, pass rates by test and group, grading times."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.db import WAITING, Assignment, Result, Status, Submission
from grader.reports.selection import AssignmentGrades, assignment_grades, group_of, load_tests

MESSAGE_CHARS = 200
TOP_MESSAGES = 3


@dataclass(frozen=True)
class Counts:
    """Who has done what. Student counts are over the roster; the last three count submissions.

    Attributes:
        roster: students on the roster.
        submitted: students with at least one submission (any status).
        graded: students with a graded submission that counts.
        not_submitted: students with no submission at all.
        late: graded students whose counted submission is late (after their extension).
        failed_to_grade: the roster's submissions that could not be graded.
        in_progress: the roster's submissions queued or running now.
        submissions: every submission by a student on the roster.
    """

    roster: int
    submitted: int
    graded: int
    not_submitted: int
    late: int
    failed_to_grade: int
    in_progress: int
    submissions: int


@dataclass(frozen=True)
class Bin:
    """One histogram bar: scores from ``low`` (included) to ``high`` (excluded, except in the last bin)."""

    low: float
    high: float
    count: int


@dataclass(frozen=True)
class PassRate:
    """How many counted submissions passed one test."""

    name: str
    group: str | None
    passed: int
    total: int
    rate: float


@dataclass(frozen=True)
class GroupRate:
    """How many test runs in one points group passed, over every counted submission."""

    group: str
    tests: int
    passed: int
    total: int
    rate: float


@dataclass(frozen=True)
class FailedTest:
    """A test with one of the lowest pass rates and its most common failure messages, ``(message, count)``."""

    name: str
    group: str | None
    passed: int
    total: int
    rate: float
    messages: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class AssignmentReport:
    """One assignment's statistics over each roster student's counted submission.

    Attributes:
        name: the assignment's name.
        title: its title.
        policy: ``best`` or ``latest``.
        max_score: the current release's maximum score.
        due_at: the current release's due date.
        counts: roster, submission and grading counts.
        scores: each graded student's final score (after the late penalty), in roster (email) order.
        mean: the mean final score, None when nobody was graded; likewise ``median`` and ``max``.
        histogram: the final scores in equal bins from 0 to ``max_score``.
        tests: each test's pass rate, in the results' order.
        groups: each points group's pass rate, in the results' order (empty when tests carry no group).
        most_failed: the tests with the lowest pass rates (only tests someone failed), lowest first.
        median_grading_s: the median time a grader ran (finished minus started) over the assignment's results.
        median_turnaround_s: the median time from receiving a submission to storing its result.
    """

    name: str
    title: str
    policy: str
    max_score: float
    due_at: datetime | None
    counts: Counts
    scores: tuple[float, ...]
    mean: float | None
    median: float | None
    max: float | None
    histogram: tuple[Bin, ...]
    tests: tuple[PassRate, ...]
    groups: tuple[GroupRate, ...]
    most_failed: tuple[FailedTest, ...]
    median_grading_s: float | None
    median_turnaround_s: float | None


@dataclass
class _Tally:
    group: str | None
    passed: int = 0
    total: int = 0
    messages: Counter = field(default_factory=Counter)


def assignment_report(session: Session, assignment: Assignment, policy: str = "best", *, most_failed: int = 5,
                      bins: int = 10) -> AssignmentReport:
    """Compute one assignment's report; result data is read only for the counted submissions.

    Args:
        session: an open database session.
        assignment: the assignment.
        policy: which submission counts: ``best`` or ``latest``.
        most_failed: how many of the lowest-passing tests to list.
        bins: how many histogram bins.

    Returns:
        The report.

    Raises:
        ServiceError: an unknown policy (400).
    """
    grades = assignment_grades(session, assignment, policy)
    scores = tuple(grades.counted[s.id].score for s in grades.students if s.id in grades.counted)
    tests = load_tests(session, [c.attempt.result_id for c in grades.counted.values()])
    rates, groups, failed = summarise_tests(
        (tests[c.attempt.result_id] for c in grades.counted.values() if c.attempt.result_id in tests),
        most_failed)
    grading, turnaround = _median_times(session, assignment.id)
    current = grades.current
    return AssignmentReport(
        name=assignment.name, title=assignment.title or "", policy=policy, max_score=grades.max_score,
        due_at=current.due_at if current else None, counts=_counts(grades), scores=scores,
        mean=round(statistics.fmean(scores), 6) if scores else None,
        median=round(statistics.median(scores), 6) if scores else None, max=max(scores) if scores else None,
        histogram=histogram(scores, grades.max_score, bins), tests=rates, groups=groups, most_failed=failed,
        median_grading_s=grading, median_turnaround_s=turnaround)


def histogram(scores: tuple[float, ...] | list[float], top: float, bins: int = 10) -> tuple[Bin, ...]:
    """Count ``scores`` in ``bins`` equal bins from 0 to ``top``.

    Args:
        scores: the scores.
        top: the upper edge (the maximum score); when 0, the highest score (or 1) is used.
        bins: how many bins (at least 1).

    Returns:
        The bins; a score of exactly ``top`` (or above, extra credit) falls in the last, a negative one in the
        first.
    """
    bins = max(1, bins)
    top = top if top > 0 else (max(scores, default=0.0) or 1.0)
    counts = [0] * bins
    for score in scores:
        # Multiply before dividing: 0.3 * 10 / 1 is 3, while 0.3 / (1 / 10) is 2.9999999999999996 (the wrong
        # bin).
        counts[min(bins - 1, max(0, int(score * bins / top)))] += 1
    return tuple(Bin(round(top * i / bins, 6), round(top * (i + 1) / bins, 6), counts[i])
                 for i in range(bins))


def failure_message(test: dict) -> str:
    """A failed test's message for counting alike failures together.

    Args:
        test: one test of a result's ``tests``.

    Returns:
        The first line of its ``output`` with a letter or digit in it (the last such line of a traceback,
        which names the exception), whitespace collapsed, trimmed to ``MESSAGE_CHARS``; ``(outcome, no
        message)`` when the output has none.
    """
    lines = [" ".join(line.split()) for line in str(test.get("output") or "").splitlines()]
    lines = [line for line in lines if any(ch.isalnum() for ch in line)]
    if not lines:
        return f"({test.get('outcome') or 'failed'}, no message)"
    line = lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]
    return line if len(line) <= MESSAGE_CHARS else line[:MESSAGE_CHARS - 1] + "…"


def summarise_tests(test_lists: Iterable[list[dict]], most_failed: int = 5
                    ) -> tuple[tuple[PassRate, ...], tuple[GroupRate, ...], tuple[FailedTest, ...]]:
    """Pass rates per test and per group, and the lowest-passing tests with their commonest failure messages.

    Args:
        test_lists: the ``tests`` list of each counted result.
        most_failed: how many tests to list as most failed (only tests someone failed are listed).

    Returns:
        ``(tests, groups, most_failed)``: tests and groups in the order they first appear; the most failed
        lowest rate first, then most failures, then first appearance, each with its top three messages and
        their counts.
    """
    tallies = _tally(test_lists)
    return _rates(tallies), _group_rates(tallies), _most_failed(tallies, most_failed)


def _counts(grades: AssignmentGrades) -> Counts:
    statuses = Counter(attempt.status for mine in grades.attempts.values() for attempt in mine)
    late = sum(1 for counted in grades.counted.values() if counted.late_days > 0)
    return Counts(roster=len(grades.students), submitted=len(grades.attempts), graded=len(grades.counted),
                  not_submitted=len(grades.students) - len(grades.attempts), late=late,
                  failed_to_grade=statuses[Status.FAILED], in_progress=sum(statuses[s] for s in WAITING),
                  submissions=sum(statuses.values()))


def _tally(test_lists: Iterable[list[dict]]) -> dict[str, _Tally]:
    """Pass counts and failure messages per test name, in the order tests first appear."""
    tallies: dict[str, _Tally] = {}
    for tests in test_lists:
        for test in tests:
            name = str(test.get("name", ""))
            tally = tallies.get(name)
            if tally is None:
                tally = tallies[name] = _Tally(group_of(test))
            tally.total += 1
            if test.get("status") == "passed":
                tally.passed += 1
            else:
                tally.messages[failure_message(test)] += 1
    return tallies


def _rate(passed: int, total: int) -> float:
    return round(passed / total, 6) if total else 0.0


def _rates(tallies: dict[str, _Tally]) -> tuple[PassRate, ...]:
    return tuple(PassRate(name, t.group, t.passed, t.total, _rate(t.passed, t.total))
                 for name, t in tallies.items())


def _group_rates(tallies: dict[str, _Tally]) -> tuple[GroupRate, ...]:
    groups: dict[str, list[int]] = {}
    for tally in tallies.values():
        if tally.group is not None:
            entry = groups.setdefault(tally.group, [0, 0, 0])
            entry[0] += 1
            entry[1] += tally.passed
            entry[2] += tally.total
    return tuple(GroupRate(group, tests, passed, total, _rate(passed, total))
                 for group, (tests, passed, total) in groups.items())


def _most_failed(tallies: dict[str, _Tally], count: int) -> tuple[FailedTest, ...]:
    failing = [(name, t) for name, t in tallies.items() if t.passed < t.total]
    # Lowest rate first; on a tie, the test more students failed, then the results' order (sorted is stable).
    failing.sort(key=lambda item: (_rate(item[1].passed, item[1].total), -(item[1].total - item[1].passed)))
    return tuple(FailedTest(name, t.group, t.passed, t.total, _rate(t.passed, t.total),
                            tuple(t.messages.most_common(TOP_MESSAGES)))
                 for name, t in failing[:max(0, count)])


def _median_times(session: Session, assignment_id: int) -> tuple[float | None, float | None]:
    """Median grading time and turnaround in seconds over all the assignment's results (regrades included)."""
    rows = session.execute(select(Result.started_at, Result.finished_at, Result.received_at, Result.stored_at)
                           .join(Submission, Result.submission_id == Submission.id)
                           .where(Submission.assignment_id == assignment_id))
    grading, turnaround = [], []
    for started, finished, received, stored in rows:
        if started is not None and finished is not None:
            grading.append((finished - started).total_seconds())
        if received is not None and stored is not None:
            turnaround.append((stored - received).total_seconds())
    return (round(statistics.median(grading), 3) if grading else None,
            round(statistics.median(turnaround), 3) if turnaround else None)
