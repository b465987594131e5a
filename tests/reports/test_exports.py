"""The CSV exports: Canvas's and Gradescope's layouts parsed back cell by cell, numbers, names, formula
escaping."""

from __future__ import annotations

import csv
import io

import pytest

from grader.db import Submission
from grader.reports import canvas_csv, course_gradebook, gradescope_csv, number, safe_cell, split_name

BOB = '\'=HYPERLINK("http://evil.example")'  # bob's first name, escaped


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_canvas_layout_cell_by_cell(course):
    with course.runtime.sessions() as session:
        text = canvas_csv(course_gradebook(session))
    assert _rows(text) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Warm-up (hw1)", "hw2"],
        ["Points Possible", "", "", "", "", "10", "20"],
        ["Ann Lee", "", "ann@x.edu", "ann@x.edu", "", "7", "14"],
        [f"{BOB} Bob", "", "bob@x.edu", "bob@x.edu", "", "", ""],  # missing twice: blank cells
        ["cat@x.edu", "", "cat@x.edu", "cat@x.edu", "", "9", "9"],  # no stored name: the email
        ["Dan de la Cruz", "", "dan@x.edu", "dan@x.edu", "", "0", "8"],
    ]


def test_canvas_export_of_chosen_assignments_and_the_latest_policy(course):
    with course.runtime.sessions() as session:
        book = course_gradebook(session, "latest")
    rows = _rows(canvas_csv(book, ["hw2", "hw1"]))
    assert rows[0][5:] == ["hw2", "Warm-up (hw1)"] and rows[1][5:] == ["20", "10"]
    assert [row[5:] for row in rows[2:]] == [["14", "5.4"], ["", ""], ["9", "9"], ["0", "0"]]
    with pytest.raises(ValueError, match="hw3"):
        canvas_csv(book, ["hw1", "hw3"])


def test_gradescope_layout_with_group_columns(course):
    with course.runtime.sessions() as session:
        text = gradescope_csv(session, course.assignment(session, "hw1"))
        times = {label: session.get(Submission, course.submissions[label]).created_at
                 for label in ("ann1", "cat2", "dan1")}
    stamp = {label: when.strftime("%Y-%m-%d %H:%M:%S +0000") for label, when in times.items()}
    ids = {label: str(course.submissions[label]) for label in times}
    assert _rows(text) == [
        ["First Name", "Last Name", "SID", "Email", "Sections", "Total Score", "Max Points", "Status",
         "Submission ID", "Submission Time", "Lateness (H:M:S)", "View Count", "Submission Count",
         "Basics (7 pts)", "Advanced (3 pts)"],
        ["Ann", "Lee", "", "ann@x.edu", "", "7", "10", "Graded", ids["ann1"], stamp["ann1"], "0:00:00", "",
         "3", "7", "0"],
        [BOB, "Bob", "", "bob@x.edu", "", "", "10", "Missing", "", "", "", "", "1", "", ""],
        # Two days after the due date, one after cat's one-day extension; 10 points less 10%.
        ["", "", "", "cat@x.edu", "", "9", "10", "Graded", ids["cat2"], stamp["cat2"], "24:00:00", "", "2",
         "7", "3"],
        ["Dan de la", "Cruz", "", "dan@x.edu", "", "0", "10", "Graded", ids["dan1"], stamp["dan1"], "0:00:00",
         "", "1", "0", "0"],
    ]


def test_gradescope_columns_per_test_without_groups_and_lateness_in_hours(course):
    with course.runtime.sessions() as session:
        rows = _rows(gradescope_csv(session, course.assignment(session, "hw2"), "latest"))
    assert rows[0][13:] == ["t/test_c.py::test_x (8 pts)", "t/test_c.py::test_y (6 pts)",
                            "t/test_c.py::test_z (6 pts)"]
    by_email = {row[3]: row for row in rows[1:]}
    assert by_email["ann@x.edu"][13:] == ["8", "6", "0"]
    assert by_email["bob@x.edu"][7] == "Missing" and by_email["bob@x.edu"][12] == "0"
    # dan's latest: 4 days and an hour late, so no points are left after the penalty; the tests' points stay.
    assert by_email["dan@x.edu"][5:8] == ["0", "20", "Graded"]
    assert by_email["dan@x.edu"][10] == "97:00:00" and by_email["dan@x.edu"][13:] == ["8", "6", "6"]
    assert by_email["cat@x.edu"][10] == "10:00:00"


@pytest.mark.parametrize("cell, expected", [
    ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("-1.5", "-1.5"), ("+3", "+3"), ("-2e5", "-2e5"), ("Ann", "Ann"), ("a=b", "a=b"),
    ("", ""), (None, ""), (7, "7"),
])
def test_formula_injection_is_escaped_but_numbers_are_not(cell, expected):
    assert safe_cell(cell) == expected


@pytest.mark.parametrize("value, expected", [
    (7.0, "7"), (5.4, "5.4"), (6 * 0.9, "5.4"), (0.1 + 0.2, "0.3"), (1e21, "1000000000000000000000"),
    (2_000_000.0, "2000000"), (-0.0, "0"), (0.0000001, "0"), (None, ""), (12.3456789, "12.345679"),
])
def test_numbers_have_no_trailing_zeros_and_no_exponent(value, expected):
    assert number(value) == expected


@pytest.mark.parametrize("name, expected", [
    ("Ann Lee", ("Ann", "Lee")), ("Ana de  Souza ", ("Ana de", "Souza")), ("Cher", ("Cher", "")),
    ("", ("", "")),
])
def test_names_split_at_the_last_space(name, expected):
    assert split_name(name) == expected
