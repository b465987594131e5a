"""The assignment report: counts, scores and histogram, pass rates, the most failed tests and their
messages."""

from __future__ import annotations

import statistics

import pytest
from sqlalchemy import select

from grader.db import Assignment, engine_for
from grader.reports import Bin, Counts, assignment_report, failure_message, histogram, summarise_tests
from tests.reports.conftest import HW1_TESTS, StatementLog, result_tests

SHAPE = "AssertionError: wrong shape (2, 3)"


def _report(course, name, **options):
    with course.runtime.sessions() as session:
        return assignment_report(session, course.assignment(session, name), **options)


def test_hw1_counts_scores_and_histogram(course):
    report = _report(course, "hw1")
    assert (report.name, report.title, report.policy, report.max_score) == ("hw1", "Warm-up", "best", 10.0)
    # ann, bob, cat and dan all submitted; bob's one failed to grade; ann's last is queued; cat's counted one
    # is
    # late; the TA's submission is not counted anywhere.
    assert report.counts == Counts(roster=4, submitted=4, graded=3, not_submitted=0, late=1,
                                   failed_to_grade=1, in_progress=1, submissions=7)
    assert report.scores == (7.0, 9.0, 0.0)  # ann, cat, dan
    assert report.mean == pytest.approx(16 / 3) and report.median == 7.0 and report.max == 9.0
    assert [(b.low, b.high) for b in report.histogram] == [(float(i), float(i + 1)) for i in range(10)]
    assert [b.count for b in report.histogram] == [1, 0, 0, 0, 0, 0, 0, 1, 0, 1]
    assert sum(b.count for b in report.histogram) == report.counts.graded


def test_hw2_counts_a_student_who_never_submitted(course):
    report = _report(course, "hw2")
    assert report.counts == Counts(roster=4, submitted=3, graded=3, not_submitted=1, late=1,
                                   failed_to_grade=0, in_progress=0, submissions=5)
    assert report.scores == (14.0, 9.0, 8.0)
    assert report.due_at is not None and report.max_score == 20.0


def test_pass_rates_per_test_and_group_over_the_counted_submissions(course):
    report = _report(course, "hw1")
    # Counted: ann's first (P P F), cat's late one (P P P), dan's (F F F).
    assert [(t.name, t.group, t.passed, t.total) for t in report.tests] == [
        ("t/test_a.py::test_one", "Basics", 2, 3), ("t/test_a.py::test_two", "Basics", 2, 3),
        ("t/test_b.py::test_three", "Advanced", 1, 3)]
    assert [t.rate for t in report.tests] == [pytest.approx(2 / 3), pytest.approx(2 / 3),
                                              pytest.approx(1 / 3)]
    assert [(g.group, g.tests, g.passed, g.total) for g in report.groups] == [("Basics", 2, 4, 6),
                                                                              ("Advanced", 1, 1, 3)]
    assert report.groups[0].rate == pytest.approx(4 / 6)


def test_the_policy_changes_which_results_are_read(course):
    latest = _report(course, "hw1", policy="latest")
    # Counted now: ann's late one (F P P) instead of her first (P P F).
    assert [(t.passed, t.total) for t in latest.tests] == [(1, 3), (2, 3), (2, 3)]
    assert latest.scores == (5.4, 9.0, 0.0) and latest.counts.late == 2


def test_most_failed_tests_with_their_commonest_messages(course):
    report = _report(course, "hw1")
    assert [(t.name, t.passed, t.total) for t in report.most_failed] == [
        ("t/test_b.py::test_three", 1, 3), ("t/test_a.py::test_one", 2, 3), ("t/test_a.py::test_two", 2, 3)]
    # ann's and dan's messages differ in their other lines but count as one.
    assert report.most_failed[0].messages == ((SHAPE, 2),)
    assert report.most_failed[1].messages == (("(timeout, no message)", 1),)
    assert report.most_failed[2].messages == (("x" * 199 + "…", 1),)
    assert [t.name for t in _report(course, "hw1", most_failed=1).most_failed] == ["t/test_b.py::test_three"]


def test_tests_without_groups_have_no_group_rates(course):
    report = _report(course, "hw2")
    assert report.groups == ()
    assert [(t.name, t.group, t.passed) for t in report.tests] == [
        ("t/test_c.py::test_x", None, 2), ("t/test_c.py::test_y", None, 2), ("t/test_c.py::test_z", None, 1)]
    assert report.most_failed[0].name == "t/test_c.py::test_z"
    assert report.most_failed[0].messages == (("AssertionError: t/test_c.py::test_z failed", 2),)


def test_median_grading_time_and_turnaround_over_every_result(course):
    # Every result of hw1 counts, the TA's and the regraded one's first result included.
    report = _report(course, "hw1")
    assert report.median_grading_s == pytest.approx(statistics.median(course.grading_s["hw1"]))
    assert report.median_turnaround_s == pytest.approx(statistics.median(course.turnaround_s["hw1"]))
    assert len(course.grading_s["hw1"]) == 7


def test_an_unreleased_assignment_reports_nothing_without_failing(course):
    report = _report(course, "hw3")
    assert report.counts == Counts(roster=4, submitted=0, graded=0, not_submitted=4, late=0,
                                   failed_to_grade=0, in_progress=0, submissions=0)
    assert report.scores == () and report.mean is None and report.median is None and report.max is None
    assert report.tests == () and report.groups == () and report.most_failed == ()
    assert report.median_grading_s is None and report.median_turnaround_s is None
    assert sum(b.count for b in report.histogram) == 0 and len(report.histogram) == 10


@pytest.mark.parametrize("output, outcome, expected", [
    ("AssertionError: bad\nmore detail", "failed", "AssertionError: bad"),
    ("\n  \n-----\n   ValueError:   too    many  spaces  ", "failed", "ValueError: too many spaces"),
    ("Traceback (most recent call last):\n  File \"x.py\", line 3, in f\nKeyError: 'w'\n", "crashed",
     "KeyError: 'w'"),
    ("", "out_of_memory", "(out_of_memory, no message)"),
    ("====\n", "failed", "(failed, no message)"),
])
def test_failure_messages_are_normalised(output, outcome, expected):
    assert failure_message({"output": output, "outcome": outcome}) == expected


def test_long_messages_are_trimmed_to_200_characters():
    message = failure_message({"output": "E" * 500})
    assert len(message) == 200 and message.endswith("…")


def test_only_the_three_commonest_messages_are_kept_in_order():
    outputs = ["a"] * 2 + ["b"] * 4 + ["c"] + ["d"] * 2 + ["e"] * 3
    lists = [result_tests(HW1_TESTS[:1], "F", {0: ("failed", output)}) for output in outputs]
    lists += [result_tests(HW1_TESTS[:1], "P")]
    tests, groups, failed = summarise_tests(lists)
    assert (tests[0].passed, tests[0].total) == (1, len(outputs) + 1)
    assert groups[0].group == "Basics" and groups[0].total == len(outputs) + 1
    # b (4), e (3), then a and d tie at 2: a was seen first.
    assert failed[0].messages == (("b", 4), ("e", 3), ("a", 2))


def test_histogram_edges():
    assert [b.count for b in histogram([0, 2.1, 7, 7.0], 7, bins=10)] == [1, 0, 0, 1, 0, 0, 0, 0, 0, 2]
    # No maximum: the highest score is the top; above the top (extra credit) lands in the last bin.
    assert histogram([5.0], 0, bins=2) == (Bin(0.0, 2.5, 0), Bin(2.5, 5.0, 1))
    assert [b.count for b in histogram([11.0, -1.0], 10, bins=5)] == [1, 0, 0, 0, 1]
    assert histogram([], 0, bins=1) == (Bin(0.0, 1.0, 0),)


def test_a_large_assignment_reads_result_data_only_for_the_counted_submissions(seeded):
    runtime, info = seeded
    with runtime.sessions() as session:
        assignment = session.scalar(select(Assignment).where(Assignment.name == info.assignments[1]))
        with StatementLog(engine_for(runtime.settings.database)) as log:
            report = assignment_report(session, assignment)
    assert len(log.statements) <= 7
    data_reads = [statement for statement in log.statements if "results.data" in statement]
    assert len(data_reads) == 1 and data_reads[0].count("?") == report.counts.graded
    counts = report.counts
    assert counts.roster == 300 and counts.submitted + counts.not_submitted == counts.roster
    assert len(report.scores) == counts.graded == sum(b.count for b in report.histogram)
    assert counts.graded <= counts.submitted
    assert all(t.total == counts.graded for t in report.tests) and len(report.tests) == 12
    assert sum(g.tests for g in report.groups) == len(report.tests)
    rates = [t.rate for t in report.most_failed]
    assert rates == sorted(rates) and rates[0] == min(t.rate for t in report.tests)
    for test in report.most_failed:
        counts_ = [count for _, count in test.messages]
        assert counts_ == sorted(counts_, reverse=True) and sum(counts_) <= test.total - test.passed
    assert report.median_grading_s > 0 and report.median_turnaround_s > report.median_grading_s
