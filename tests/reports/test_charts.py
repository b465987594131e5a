"""The SVG charts: valid inline markup with a label, the expected text, deterministic, and an empty case."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader.reports import (
    GroupRate,
    PassRate,
    assignment_report,
    empty_svg,
    pass_rate_svg,
    score_histogram_svg,
)
from grader.reports.charts import EMPTY

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def reports(course):
    with course.runtime.sessions() as session:
        return {name: assignment_report(session, course.assignment(session, name))
                for name in ("hw1", "hw2", "hw3")}


def _parse(svg: str) -> ET.Element:
    """Parse inline SVG and check what every chart must have: no prolog, a role, a label and a matching
    title."""
    assert svg.startswith("<svg") and "<?xml" not in svg and "<!DOCTYPE" not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("aria-label")
    assert root[0].tag == f"{SVG}title" and root[0].text == root.get("aria-label")
    return root


def _texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()).strip() for node in root.iter(f"{SVG}text")]


def _check_ids(svg: str, root: ET.Element) -> None:
    """Every id is unique and every internal reference points at one of them."""
    ids = [node.get("id") for node in root.iter() if node.get("id")]
    assert len(ids) == len(set(ids))
    for target in re.findall(r"url\(#([^)]+)\)", svg) + re.findall(r'href="#([^"]+)"', svg):
        assert target in ids


def test_the_score_histogram(reports):
    svg = score_histogram_svg(reports["hw1"])
    root = _parse(svg)
    _check_ids(svg, root)
    label = root.get("aria-label")
    assert "Warm-up" in label and "3 graded students" in label and "median 7" in label
    assert "7 to 8: 1" in label and "1 to 2: 0" in label
    texts = _texts(root)
    assert {"0", "5", "10"} <= set(texts)  # the bin edges
    assert "median 7" in texts and "Students" in texts
    assert texts.count("1") >= 3  # a count over each of the three non-empty bars
    # the page names the assignment; the chart does not repeat it
    assert any(text.startswith("3 graded students, mean") for text in texts)


def test_the_group_pass_rate_chart(reports):
    svg = pass_rate_svg(reports["hw1"])
    root = _parse(svg)
    _check_ids(svg, root)
    texts = _texts(root)
    assert {"Basics", "Advanced", "67%", "33%"} <= set(texts)
    assert any("listed in the table" in text for text in texts)
    # Lowest first: Advanced (33%) is drawn above Basics (67%), and named first in the label.
    label = root.get("aria-label")
    assert label.index("Advanced 33%") < label.index("Basics 67%")


def test_the_per_test_pass_rate_chart_without_groups(reports):
    root = _parse(pass_rate_svg(reports["hw2"]))
    texts = _texts(root)
    assert {"test_c.py::test_x", "test_c.py::test_y", "test_c.py::test_z", "33%", "67%"} <= set(texts)
    assert not any("listed in the table" in text for text in texts)


def test_many_tests_chart_only_the_lowest(reports):
    tests = tuple(PassRate(f"hidden_tests/test_big.py::test_case[{i}]", None, i, 70, i / 70)
                  for i in range(70))
    report = dataclasses.replace(reports["hw2"], tests=tests, groups=())
    root = _parse(pass_rate_svg(report, max_tests=25))
    texts = _texts(root)
    charted = [text for text in texts if text.startswith("test_big.py::")]
    assert charted == [f"test_big.py::test_case[{i}]" for i in range(25)]
    assert any("25 lowest of 70 tests" in text for text in texts)
    # Long names are shortened in the middle, never overflowing the axis.
    long = dataclasses.replace(report, tests=(PassRate("a/" + "b" * 40 + "::" + "c" * 40, None, 1, 2, 0.5),))
    (label,) = [text for text in _texts(_parse(pass_rate_svg(long))) if "…" in text]
    assert len(label) <= 48 and label.startswith("bbb") and label.endswith("ccc")


def test_charts_are_deterministic_even_from_threads(reports):
    report = reports["hw1"]
    first, second = score_histogram_svg(report), score_histogram_svg(report)
    assert first == second
    assert pass_rate_svg(report) == pass_rate_svg(report)
    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(lambda _: score_histogram_svg(report), range(8))) == {first}
    # A different input gives different ids, so two charts can share a page.
    other = score_histogram_svg(reports["hw2"])
    assert ET.fromstring(other).get("id") != ET.fromstring(first).get("id")


def test_no_graded_submissions_gives_a_small_message(reports):
    for svg in (score_histogram_svg(reports["hw3"]), pass_rate_svg(reports["hw3"])):
        root = _parse(svg)
        assert _texts(root) == [EMPTY] and "no graded submissions yet" in root.get("aria-label")
        assert len(svg) < 1000
    assert "&lt;b&gt;" in empty_svg("a <b> label")


def test_dollar_signs_a_ta_typed_are_drawn_as_written_never_as_math(reports):
    # matplotlib reads $...$ as mathtext: "\notacommand" would make it raise, and the report page a 500.
    title = r"Week 3: $\notacommand{x}$ costs $5"
    report = dataclasses.replace(reports["hw1"], title=title,
                                 groups=(GroupRate(r"$^$ broken", 1, 1, 2, 0.5),
                                         GroupRate("$x_1$", 1, 2, 2, 1.0)))
    for svg in (score_histogram_svg(report), pass_rate_svg(report)):
        root = _parse(svg)
        assert title in root.get("aria-label")
    texts = _texts(_parse(pass_rate_svg(report)))
    assert r"$^$ broken" in texts and "$x_1$" in texts
    tests = dataclasses.replace(report, groups=(),
                                tests=(PassRate(r"t/test_a.py::test_\frac[$a$]", None, 1, 2, 0.5),))
    assert r"test_a.py::test_\frac[$a$]" in _texts(_parse(pass_rate_svg(tests)))
