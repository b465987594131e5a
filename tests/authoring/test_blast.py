"""The gate's blast-radius check (8) on the toy project: a unit may cost points only where it is graded or
declared."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.authoring.config import AssignmentConfigError, load_assignment
from grader.authoring.release import release

TOY = Path(__file__).parent / "toy"

# One group per unit, and the scale_sum test that also calls double: double's bug reaches the scale_sum group.
SPLIT_GROUPS = """name = "toy"
title = "Toy"
[files]
owned = ["ops.py"]
[[points]]
group = "public"
tests = ["public_tests/*"]
points = 2
units = ["ops.py::double"]
[[points]]
group = "double"
tests = ["hidden_tests/test_ops.py::test_double_*"]
points = 4
units = ["ops.py::double"]
[[points]]
group = "scale_sum"
tests = ["hidden_tests/test_ops.py::test_scale_sum_*"]
points = 4
units = ["ops.py::scale_sum"]
"""
SCALE_SUM_OF_DOUBLE = """
def test_scale_sum_of_doubled(student, reference, rng):
    x = rng.normal(size=5)
    doubled = fetch(student.beras.double(x))
    assert_close(student.beras.scale_sum(doubled, 3.0), reference.beras.scale_sum(2.0 * x, 3.0))
"""


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the toy project, and a cache of its own (each test measures)."""
    monkeypatch.setenv("GRADER_BLAST_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "project"
    shutil.copytree(TOY, root)
    return root


def _release(root: Path, seed: int = 7):
    return release(root / "assignments" / "toy", root / "out", reference_package=root / "reference" / "beras",
                   seed=seed)


def _split(toy: Path, extra_toml: str = "") -> None:
    """One group per unit; the scale_sum group gains a test that also calls double."""
    (toy / "assignments/toy/assignment.toml").write_text(SPLIT_GROUPS + extra_toml)
    tests = toy / "assignments/toy/hidden_tests/test_ops.py"
    tests.write_text(tests.read_text().replace("import assert_close", "import assert_close, fetch")
                     + SCALE_SUM_OF_DOUBLE)


def _blast(outcome):
    return next(check for check in outcome.report.checks if check.number == 8)


def _rows(outcome) -> dict[str, dict]:
    return {row["unit"]: row for row in _blast(outcome).rows}


def test_a_sound_toy_is_confined_and_each_unit_reruns_only_the_tests_that_call_it(toy: Path) -> None:
    outcome = _release(toy)
    assert outcome.report.ok, outcome.report.format()
    rows = _rows(outcome)
    # double: the public test and the hidden one call it; scale_sum: only its own hidden test.
    assert rows["ops.py::double"]["tests_run"] == 2 and rows["ops.py::scale_sum"]["tests_run"] == 1
    assert rows["ops.py::double"]["points_lost"] == {"public": 2, "hidden": 4}
    assert rows["ops.py::scale_sum"]["points_lost"] == {"hidden": 4}
    assert not any(row["refused"] for row in rows.values())
    text = outcome.report.format()
    assert "8. blast radius: 2 units, 2 confined, 0 cost points outside their groups" in text
    assert "| ops.py::double" in text and "public 2, hidden 4" in text
    assert outcome.report.to_dict()["checks"][7]["rows"] == _blast(outcome).rows


def test_a_test_using_another_groups_unit_is_refused_naming_unit_group_and_test(toy: Path) -> None:
    _split(toy)
    outcome = _release(toy)
    blast = _blast(outcome)
    assert not blast.ok and not outcome.report.ok, outcome.report.format()
    assert "Release refused: check 8 failed" in outcome.report.format()
    assert blast.details == [
        "ops.py::double costs 2 points in group 'scale_sum', which does not list it in units or depends_on: "
        "hidden_tests/test_ops.py::test_scale_sum_of_doubled"]
    assert _rows(outcome)["ops.py::double"]["refused"] == {
        "scale_sum": ["hidden_tests/test_ops.py::test_scale_sum_of_doubled"]}
    assert "scale_sum 2!" in outcome.report.format()  # the table marks the refused loss
    assert not (toy / "out").exists()


def test_depends_on_allows_that_loss_and_the_release_passes(toy: Path) -> None:
    _split(toy)
    toml = toy / "assignments/toy/assignment.toml"
    toml.write_text(toml.read_text() + 'depends_on = ["ops.py::dou*"]\n')  # the last table is scale_sum's
    outcome = _release(toy)
    assert outcome.report.ok, outcome.report.format()
    assert _rows(outcome)["ops.py::double"]["points_lost"] == {"public": 2, "double": 4, "scale_sum": 2}


def test_an_advisory_assignment_reports_the_refusal_and_passes(toy: Path) -> None:
    _split(toy, '[gate]\nblast_radius = "advisory"\n')
    outcome = _release(toy)
    blast = _blast(outcome)
    assert blast.ok and outcome.report.ok
    assert "ADVISORY ONLY" in blast.figure and "1 cost points outside their groups" in blast.figure
    assert blast.details and "ops.py::double costs 2 points in group 'scale_sum'" in blast.details[0]


def test_a_wider_fixture_that_calls_a_unit_counts_for_every_test_using_it(toy: Path) -> None:
    # The module fixture is set up inside the first test; the second never calls double itself,
    # yet a stubbed double fails it too: it must be rerun for double, and its loss counted.
    (toy / "assignments/toy/hidden_tests/test_shared.py").write_text(
        "import numpy as np\nimport pytest\nfrom grader.harness import fetch\n\n"
        "@pytest.fixture(scope='module')\n"
        "def doubled(student_session):\n"
        "    return fetch(student_session.root().beras.double(np.ones(3)))\n\n"
        "def test_a_first(doubled, student):\n"
        "    assert fetch(student.beras.scale_sum(doubled, 1.0)) == 6.0\n\n"
        "def test_b_second(doubled):\n"
        "    assert doubled.sum() == 6.0\n")
    outcome = _release(toy)
    row = _rows(outcome)["ops.py::double"]
    assert row["tests_run"] == 4, outcome.report.format()  # public, test_double_random, both shared tests
    assert row["points_lost"] == {"public": 2, "hidden": 6}


def test_a_second_gate_run_takes_each_outcome_from_the_cache(toy: Path) -> None:
    first = _release(toy)
    second = _release(toy)
    assert "2 cached" in _blast(second).figure and "0 runs" in _blast(second).figure
    strip = [{**row, "cached": None} for row in _blast(first).rows]
    assert [{**row, "cached": None} for row in _blast(second).rows] == strip
    third = _release(toy, seed=8)  # another seed is another measurement
    assert "0 cached" in _blast(third).figure


def _config(tmp_path: Path, points: str) -> Path:
    root = tmp_path / "project"
    shutil.copytree(TOY, root)
    (root / "assignments/toy/assignment.toml").write_text(
        'name = "toy"\ntitle = "Toy"\n[files]\nowned = ["ops.py"]\n[[points]]\ngroup = "all"\n'
        f'tests = ["*"]\npoints = 10\n{points}\n')
    return root


def test_a_unit_pattern_that_matches_no_unit_is_refused_naming_group_and_pattern(tmp_path: Path) -> None:
    root = _config(tmp_path, 'depends_on = ["ops.py::triple", "ops.py::double"]')
    with pytest.raises(AssignmentConfigError) as error:
        load_assignment(root / "assignments/toy", reference_root=root / "reference/beras")
    message = str(error.value)
    assert "group 'all': depends_on 'ops.py::triple': matches no unit the students write" in message
    assert "this assignment's: ops.py::double, ops.py::scale_sum" in message
    # Without the reference, only the pattern's form is checked.
    assert (load_assignment(root / "assignments/toy").points[0].depends_on
            == ("ops.py::triple", "ops.py::double"))


@pytest.mark.parametrize("pattern,expected", [
    ("Dense.forward", "expected a unit pattern '<file inside the package>::<qualname>'"),
    ("beras/ops.py::double", "drop the leading 'beras'/"),
])
def test_a_malformed_unit_pattern_is_refused(tmp_path: Path, pattern: str, expected: str) -> None:
    root = _config(tmp_path, f'units = ["{pattern}"]')
    with pytest.raises(AssignmentConfigError) as error:
        load_assignment(root / "assignments/toy")
    assert "points[0].units[0]" in str(error.value) and expected in str(error.value)


def test_blast_radius_setting_accepts_only_its_two_values(tmp_path: Path) -> None:
    root = _config(tmp_path, '[gate]\nblast_radius = "sometimes"')
    with pytest.raises(AssignmentConfigError) as error:
        load_assignment(root / "assignments/toy")
    assert "gate.blast_radius" in str(error.value) and "advisory" in str(error.value)
