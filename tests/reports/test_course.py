"""The course gradebook: every cell of a small course by hand, both policies, and the query budget on a large
one."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from grader.db import Extension, Status, Submission, engine_for
from grader.reports import course_gradebook
from grader.service.errors import ServiceError
from grader.service.gradebook import as_csv, gradebook
from grader.service.submissions import lateness
from tests.reports.conftest import StatementLog

EMAILS = ["ann@x.edu", "bob@x.edu", "cat@x.edu", "dan@x.edu"]
# (email, assignment): (counted submission, raw score, late days, penalty, extension, score, submissions,
# status)
BEST = {
    ("ann@x.edu", "hw1"): ("ann1", 7.0, 0, 0.0, 0, 7.0, 3, "graded"),
    ("bob@x.edu", "hw1"): (None, None, 0, 0.0, 0, None, 1, "missing"),
    ("cat@x.edu", "hw1"): ("cat2", 10.0, 1, 0.1, 1, 9.0, 2, "graded"),
    ("dan@x.edu", "hw1"): ("dan1", 0.0, 0, 0.0, 0, 0.0, 1, "graded"),
    ("ann@x.edu", "hw2"): ("ann5", 14.0, 0, 0.0, 0, 14.0, 2, "graded"),
    ("bob@x.edu", "hw2"): (None, None, 0, 0.0, 0, None, 0, "missing"),
    ("cat@x.edu", "hw2"): ("cat3", 12.0, 1, 0.25, 0, 9.0, 1, "graded"),
    ("dan@x.edu", "hw2"): ("dan2", 8.0, 0, 0.0, 0, 8.0, 2, "graded"),
}
LATEST_CHANGES = {
    ("ann@x.edu", "hw1"): ("ann2", 6.0, 1, 0.1, 0, 5.4, 3, "graded"),
    ("dan@x.edu", "hw2"): ("dan3", 20.0, 5, 1.0, 0, 0.0, 2, "graded"),  # 5 days at 25% is capped at 100%
}


def _cells(book, course) -> dict:
    names = [a.name for a in book.assignments]
    ids = {v: k for k, v in course.submissions.items()}
    return {(row.email, name): (ids.get(cell.submission_id), cell.raw_score, cell.late_days, cell.penalty,
                                cell.extension_days, cell.score, cell.submissions, cell.status)
            for row in book.rows for name, cell in zip(names, row.cells)}


@pytest.mark.parametrize("policy", ["best", "latest"])
def test_every_cell_and_total_of_the_small_course(course, policy):
    expected = dict(BEST) if policy == "best" else {**BEST, **LATEST_CHANGES}
    with course.runtime.sessions() as session:
        book = course_gradebook(session, policy)
    assert book.policy == policy
    # Only released assignments, by name (hw2 was added first; hw3 was never released); only students, by
    # email.
    assert [(a.name, a.label, a.max_score) for a in book.assignments] == [("hw1", "Warm-up (hw1)", 10.0),
                                                                          ("hw2", "hw2", 20.0)]
    assert [row.email for row in book.rows] == EMAILS
    assert _cells(book, course) == expected  # scores are rounded to 6 places, so 6 * 0.9 is 5.4 exactly
    for row in book.rows:
        scores = [expected[(row.email, name)][5] or 0.0 for name in ("hw1", "hw2")]
        assert row.total == pytest.approx(sum(scores)) and row.total_max == 30.0


def test_the_counted_submission_time_and_the_cell_lookup(course):
    with course.runtime.sessions() as session:
        book = course_gradebook(session)
        submitted = session.get(Submission, course.submissions["cat2"]).created_at
    assert book.cell("cat@x.edu", "hw1").submitted_at == submitted
    assert book.cell("bob@x.edu", "hw1").submitted_at is None
    with pytest.raises(KeyError):
        book.cell("cat@x.edu", "hw3")


def test_an_unknown_policy_is_a_400(course):
    with course.runtime.sessions() as session, pytest.raises(ServiceError) as error:
        course_gradebook(session, "worst")
    assert error.value.status == 400


def test_an_empty_course_has_no_rows_or_columns(tmp_path):
    from tests.service.conftest import make_runtime

    runtime = make_runtime(tmp_path / "empty")
    with runtime.sessions() as session:
        book = course_gradebook(session)
    assert book.assignments == () and book.rows == ()


@pytest.mark.parametrize("policy", ["best", "latest"])
def test_the_refactored_service_gradebook_agrees_with_the_course_cells(course, policy):
    with course.runtime.sessions() as session:
        book = course_gradebook(session, policy)
        for name in ("hw1", "hw2"):
            rows = gradebook(session, course.assignment(session, name), policy)
            assert [r.email for r in rows] == EMAILS
            for row in rows:
                cell = book.cell(row.email, name)
                assert (row.submission_id, row.raw_score, row.late_days, row.score, row.submissions,
                        row.max_score) \
                    == (cell.submission_id, cell.raw_score, cell.late_days, cell.score, cell.submissions,
                        cell.max_score)
                assert row.penalty == round(cell.penalty, 4)
            text = as_csv(rows)
            assert text.count("\n") == len(EMAILS) + 1


def test_a_large_course_takes_a_fixed_handful_of_queries_and_never_reads_result_data(seeded):
    runtime, info = seeded
    with runtime.sessions() as session, StatementLog(engine_for(runtime.settings.database)) as log:
        book = course_gradebook(session)
    assert len(book.assignments) == 5 and len(book.rows) == 300
    # At most a few statements per assignment (in fact a fixed number for the whole course).
    assert len(log.statements) <= 3 * len(book.assignments)
    assert len(log.statements) <= 6
    assert not any("results.data" in statement for statement in log.statements)
    # Every seeded submission is counted in exactly one cell.
    assert sum(cell.submissions for row in book.rows for cell in row.cells) == info.submissions


def test_a_large_course_matches_the_slow_way_for_a_sample_of_students(seeded):
    runtime, _ = seeded
    with runtime.sessions() as session:
        book = course_gradebook(session)
        column = 1
        assignment_id = book.assignments[column].id
        extensions = dict(session.execute(select(Extension.user_id, Extension.days)
                                          .where(Extension.assignment_id == assignment_id)).all())
        for row in book.rows[::15]:
            graded = session.scalars(
                select(Submission).where(Submission.user_id == row.user_id,
                                         Submission.assignment_id == assignment_id,
                                         Submission.status == Status.GRADED,
                                         Submission.current_result_id.is_not(None))
                .options(joinedload(Submission.current_result), joinedload(Submission.version))
                .order_by(Submission.created_at, Submission.id)).all()
            finals = []
            for submission in graded:
                late = lateness(submission.version, extensions.get(row.user_id, 0),
                                submission.created_at).days
                penalty = min(1.0, late * submission.version.late_penalty_per_day)
                finals.append(round(submission.current_result.score * (1 - penalty), 6))
            cell = row.cells[column]
            assert cell.score == (max(finals) if finals else None)
            assert cell.status == ("graded" if finals else "missing")


def test_the_service_gradebook_csv_escapes_names_a_spreadsheet_would_run(course):
    with course.runtime.sessions() as session:
        text = as_csv(gradebook(session, course.assignment(session, "hw1"), "best"))
    rows = {row[0]: row for row in csv.reader(io.StringIO(text))}
    assert rows["bob@x.edu"][1] == '\'=HYPERLINK("http://evil.example") Bob'
    assert rows["ann@x.edu"][1:4] == ["Ann Lee", "7", "10"]
