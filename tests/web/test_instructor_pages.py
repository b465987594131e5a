"""Instructor pages without a browser: gradebook search and sort, the report, roster import, exports."""

from __future__ import annotations

import csv
import io
import re

from grader.db import User
from tests.web.conftest import result_test, text_of


def _course(site) -> None:
    site.graded("ann", [result_test("a", "visible", True, group="Dense"),
                        result_test("b", "hidden", False, output="AssertionError: shapes differ\nmore",
                                    group="Tape")])
    site.graded("ben", [result_test("a", "visible", True, group="Dense"),
                        result_test("b", "hidden", True, group="Tape")], late_days=1)


def _gradebook_rows(html: str) -> list[str]:
    body = html.split('<table class="grid" id="gradebook">', 1)[1].split("<tbody>", 1)[1]
    return re.findall(r"<tr><td>([^<]+)</td>", body)


def test_the_gradebook_sorts_and_searches(site):
    _course(site)
    by_score = _gradebook_rows(site.get("ida", "/instructor/gradebook?sort=beras-mlp&order=desc").text)
    assert by_score == ["ben@course.edu", "ann@course.edu"]
    assert _gradebook_rows(site.get("ida", "/instructor/gradebook?sort=email&order=desc").text) == \
        ["ben@course.edu", "ann@course.edu"]
    found = site.get("ida", "/instructor/gradebook?q=AN").text
    assert _gradebook_rows(found) == ["ann@course.edu"] and "1 of 2 students" in text_of(found)
    page = text_of(site.get("ida", "/instructor/gradebook").text)
    assert "late 1d" in page
    assert site.get("ida", "/instructor/gradebook?policy=worst").status_code == 400


def test_the_report_draws_both_charts_and_names_the_hardest_test_with_its_message(site):
    _course(site)
    page = site.get("ida", "/instructor/assignments/beras-mlp/report")
    assert page.status_code == 200
    assert page.text.count("<svg") == 3
    assert 'id="histogram"' in page.text and 'id="pass-rates"' in page.text and 'id="test-rates"' in page.text
    tests_chart = page.text.split('id="test-rates"', 1)[1].split("</figure>", 1)[0]
    assert "pass rate by test" in tests_chart and "b 50%" in tests_chart  # the per-test chart names its bars
    most_failed = text_of(page.text.split('id="most-failed"', 1)[1].split("</table>", 1)[0])
    assert "b" in most_failed and "50%" in most_failed and "AssertionError: shapes differ" in most_failed
    printed = site.get("ida", "/instructor/assignments/beras-mlp/report?print=1").text
    assert "<nav" not in printed and "<details" not in printed and printed.count("<svg") >= 2


def test_exports_are_csvs_named_for_the_lms(site):
    _course(site)
    canvas = site.get("ida", "/instructor/exports/canvas.csv")
    assert canvas.headers["content-type"].startswith("text/csv")
    assert 'filename="canvas-grades-best.csv"' in canvas.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(canvas.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    scores = {row[2]: row[5] for row in rows[2:]}
    assert scores["ann@course.edu"] == "2" and scores["ben@course.edu"] == "3.6"  # 4 less 10% for a late day
    scope = site.get("ida", "/instructor/assignments/beras-mlp/gradescope.csv")
    lines = list(csv.DictReader(io.StringIO(scope.content.decode("utf-8-sig"))))
    assert {line["Email"]: line["Total Score"] for line in lines} == {"ann@course.edu": "2",
                                                                      "ben@course.edu": "3.6"}


def test_roster_import_shows_new_tokens_once_and_a_bad_roster_changes_nothing(site):
    good = site.post("ida", "/instructor/roster",
                     files={"file": ("roster.csv", b"email,role,name\nnew@course.edu,student,New Person\n",
                                     "text/csv")})
    assert good.status_code == 200
    words = text_of(good.text)
    assert "1 added" in words and "new@course.edu" in words and re.search(r"bg_\w+", good.text)
    assert "bg_" not in site.get("ida", "/instructor/roster").text  # shown once, never again
    bad = site.post("ida", "/instructor/roster",
                    {"csv": "email,role\nnot-an-email,student\nok@course.edu,wizard\n"})
    assert bad.status_code == 400
    words = text_of(bad.text)
    assert "line 2" in words and "line 3" in words and "not imported" in words
    assert site.count(User) == 5
    assert site.post("ida", "/instructor/roster", {"csv": ""}).status_code == 400


def test_the_report_draws_a_title_and_groups_with_dollar_signs_as_written(site):
    from grader.db import Assignment

    with site.runtime.sessions() as session:
        session.query(Assignment).one().title = r"Week 3: $\notacommand{x}$"
        session.commit()
    site.graded("ann",
                [result_test("a", "visible", True, group=r"$^$ broken"), result_test("b", "visible", False)])
    page = site.get("ida", "/instructor/assignments/beras-mlp/report")
    assert page.status_code == 200 and page.text.count("<svg") == 3
    assert r"$^$ broken" in page.text and r"Week 3: $\notacommand{x}$" in page.text
