"""The gate grades with what students get: stubbed files of another assignment, the starter zip as shipped
(check 9), a points typo said once, and messages that say what to do."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from grader.authoring import leaks
from grader.authoring.harness_files import closure, harness_files
from grader.authoring.release import release

TOY = Path(__file__).parent / "toy"
MORE = '''"""Another assignment's file."""
import numpy as np


def triple(x):
    """Three times x, plus one."""
    # BEGIN SOLUTION
    y = np.asarray(x, dtype=float) * 3.0 + 1.0
    return y
    # END SOLUTION
'''


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """The toy project plus a second assignment, ``other``, that owns ``more.py`` (toy's students get it
    stubbed)."""
    root = tmp_path / "project"
    shutil.copytree(TOY, root)
    (root / "reference/beras/more.py").write_text(MORE)
    _edit(root / "reference/beras/__init__.py", "from beras.ops import",
          "from beras import more\nfrom beras.ops import")
    other = root / "assignments/other"
    shutil.copytree(root / "assignments/toy", other)
    _edit(other / "assignment.toml", 'name = "toy"', 'name = "other"')
    _edit(other / "assignment.toml", 'owned = ["ops.py"]', 'owned = ["more.py"]')
    _edit(other / "assignment.toml", 'units = ["ops.py::double"]', 'units = []')
    _edit(other / "assignment.toml", 'units = ["ops.py::*"]', 'units = []')
    return root


def _release(root: Path, seed: int = 7):
    return release(root / "assignments" / "toy", root / "out", reference_package=root / "reference" / "beras",
                   seed=seed)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def _check(outcome, number: int):
    return next(check for check in outcome.report.checks if check.number == number)


USES_MORE = ("import numpy as np\nfrom grader.harness import assert_close\n\n"
             "def test_triple_of_ones(student):\n"
             "    assert_close(student.beras.more.triple(np.ones(3)), np.full(3, 4.0))\n")


def test_a_hidden_test_using_a_file_students_get_stubbed_is_refused_by_check_2_naming_it(toy: Path) -> None:
    (toy / "assignments/toy/hidden_tests/test_more.py").write_text(USES_MORE)
    outcome = _release(toy)
    check = _check(outcome, 2)
    assert not check.ok and not outcome.report.ok
    text = "\n".join(check.details)
    assert "hidden_tests/test_more.py::test_triple_of_ones" in text
    assert "beras/more.py, which the students get as a stub (other owns it)" in text
    assert 'list "more.py" in files.solutions_released once other has closed, or do not use it' in text


def test_the_judges_copy_of_the_package_is_the_starters(toy: Path) -> None:
    outcome = _release(toy)
    assert outcome.report.ok, outcome.report.format()
    shipped = zipfile.ZipFile(outcome.starter_zip)
    graded = outcome.autograder_dir / "starter" / "beras"
    names = sorted(n.removeprefix("toy-starter/beras/") for n in shipped.namelist()
                   if n.startswith("toy-starter/beras/"))
    assert sorted(p.relative_to(graded).as_posix() for p in graded.rglob("*") if p.is_file()) == names
    for name in names:
        assert (graded / name).read_bytes() == shipped.read(f"toy-starter/beras/{name}"), name
    assert 'raise NotImplementedError("triple")' in (graded / "more.py").read_text()


def test_a_public_test_importing_pytest_is_refused_by_check_9_naming_the_file(toy: Path) -> None:
    (toy / "assignments/toy/public_tests/test_fancy.py").write_text(
        "import numpy as np\nimport pytest\nfrom grader.harness import assert_close\n\n"
        "def test_double_of_twos(student):\n"
        "    assert_close(student.beras.double(np.full(2, 2.0)), np.full(2, 4.0))\n")
    outcome = _release(toy)
    check = _check(outcome, 9)
    # pytest has it: only the shipped zip shows the fault
    assert _check(outcome, 2).ok, outcome.report.format()
    assert not check.ok and not outcome.report.ok
    text = "\n".join(check.details)
    assert ("public_tests/test_fancy.py: cannot be loaded: ModuleNotFoundError: No module named 'pytest'"
            in text)
    assert "public_tests/test_fancy.py imports pytest" in text and "run_tests.py" in text
    assert "Traceback" not in text
    assert "1 of 2 public tests pass" in check.figure


def test_a_public_test_needing_a_stubbed_file_is_refused_by_check_9_naming_it(toy: Path) -> None:
    (toy / "assignments/toy/public_tests/test_more.py").write_text(USES_MORE)
    outcome = _release(toy)
    check = _check(outcome, 9)
    assert not check.ok
    text = "\n".join(check.details)
    assert "public_tests/test_more.py::test_triple_of_ones" in text
    assert "beras/more.py, which the students get as a stub (other owns it)" in text


def test_the_sound_toy_passes_check_9_in_a_numpy_only_python(toy: Path) -> None:
    outcome = _release(toy)
    check = _check(outcome, 9)
    assert check.ok and check.ran, outcome.report.format()
    assert ("run_tests.py with numpy only (no pytest), the owned files solved: 1 of 1 public tests pass"
            in check.figure)
    assert "[  ok] 9. the starter zip works as shipped" in outcome.report.format()


def test_a_starter_missing_a_harness_module_fails_check_9_with_run_tests_traceback(
        toy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what happened when failures.py was split out of handles.py and the shipped list was by hand
    from grader.authoring import release as release_module

    shipped = tuple(f for f in harness_files() if f != "failures.py")
    monkeypatch.setattr(release_module, "harness_files", lambda: shipped)
    check = _check(_release(toy), 9)
    assert not check.ok
    assert "run_tests.py exited with 1 before running any test" in check.details[0]
    assert "No module named 'grader.harness.failures'" in check.details[0]


def test_the_shipped_harness_is_closed_under_its_module_level_imports(tmp_path: Path) -> None:
    folder = tmp_path / "harness"
    folder.mkdir()
    (folder / "entry.py").write_text("from grader.harness import helper\nimport grader.harness.deep as d\n"
                                     "from grader.harness.typed import X  # noqa\n"
                                     "if TYPE_CHECKING:\n    from grader.harness import only_types\n"
                                     "def lazy():\n    from grader.harness import sandbox_only\n")
    (folder / "helper.py").write_text("try:\n    from grader.harness.nested import y\n"
                                      "except ImportError:\n    pass\n")
    for name in ("deep", "typed", "nested", "only_types", "sandbox_only"):
        (folder / f"{name}.py").write_text("")
    assert closure(folder, ["entry.py"]) == ("deep.py", "entry.py", "helper.py", "nested.py", "typed.py")
    real = harness_files()
    assert {"failures.py", "handles.py", "minirunner.py", "plugin.py"} <= set(real)
    assert not {"launcher.py", "process.py", "limits.py"} & set(real)  # sandbox-side, never in a starter


def test_a_points_typo_is_one_problem_before_any_suite_and_every_later_check_is_not_run(toy: Path) -> None:
    _edit(toy / "assignments/toy/assignment.toml", 'tests = ["hidden_tests/*"]', 'tests = ["hiden_tests/*"]')
    outcome = _release(toy)
    report = outcome.report
    assert not report.ok and len(report.stopped) == 1
    assert "group 'hidden' matches no test (tests = ['hiden_tests/*'])" in report.stopped[0]
    assert "To fix: correct the `tests` patterns" in report.stopped[0]
    assert [check.number for check in report.checks] == list(range(1, 10))
    assert report.checks[0].ok
    assert all(not check.ran and str(check.state) == "not run" for check in report.checks[1:])
    text = report.format()
    assert text.count("hiden_tests") == 1, text
    assert "[FAIL]" not in text and text.count("[not run]") == 8
    assert "Release refused: the gate stopped before its checks ran" in text
    states = [check["state"] for check in report.to_dict()["checks"]]
    assert states == ["ok"] + ["not run"] * 8 and report.to_dict()["stopped"] == report.stopped


def test_a_failed_check_1_shows_the_others_as_not_run(toy: Path) -> None:
    _edit(toy / "reference/beras/ops.py", "    # END SOLUTION\n\n\ndef scale_sum", "\n\ndef scale_sum")
    text = _release(toy).report.format()
    assert "[FAIL] 1." in text and text.count("[not run]") == 8 and "Release refused: check 1 failed" in text


def test_check_6_says_what_differed_and_how_to_seed(toy: Path) -> None:
    (toy / "assignments/toy/hidden_tests/test_unseeded.py").write_text(
        "import numpy as np\nfrom grader.harness import assert_close\n\n"
        "def test_double_unseeded(student, reference):\n"
        "    x = np.random.default_rng().normal(size=4)\n"
        "    assert_close(student.beras.double(x), reference.beras.double(x))\n"
    )
    check = _check(_release(toy), 6)
    assert not check.ok
    text = "\n".join(check.details)
    assert ("hidden_tests/test_unseeded.py::test_double_unseeded: differs between two runs with seed 7: "
            "the values it fetched from the student's side, first at fetch #1 (" in text)
    assert "(same status and score: the inputs or Beras's weights were drawn unseeded)" in text
    assert "`rng` (or `seed`) fixture" in text and "student.beras.set_seed(seed)" in text
    assert "1 differ" in check.figure


def test_a_boilerplate_line_outside_markers_in_a_new_reference_file_is_no_leak(toy: Path) -> None:
    # ops.py's solution holds `total = x.sum() * factor`; a new file uses the same line unmarked.
    (toy / "reference/beras/extra.py").write_text(
        '"""A new file."""\n\n\ndef total_of(x, factor):\n    """factor * sum(x)."""\n'
        "    total = x.sum() * factor\n    return total\n")
    outcome = _release(toy)
    assert _check(outcome, 4).ok, outcome.report.format()


def test_another_assignments_solution_in_this_starter_is_not_this_gates_leak(toy: Path) -> None:
    # more.py belongs to `other`, which toy does not ship: its solution is other's gate's business.
    _edit(toy / "assignments/toy/public_tests/test_sanity.py", "def test_double_of_ones",
          "# y = np.asarray(x, dtype=float) * 3.0 + 1.0\ndef test_double_of_ones")
    outcome = _release(toy)
    assert _check(outcome, 4).ok, outcome.report.format()


def test_a_leak_says_how_to_fix_it(toy: Path) -> None:
    _edit(toy / "reference/beras/ops.py", '"""factor * sum(x)."""',
          '"""factor * sum(x)."""\n    # hint: total = x.sum() * factor')
    check = _check(_release(toy), 4)
    assert not check.ok
    assert ("to fix: move that line of the reference's beras/ops.py inside its solution block"
            in check.details[0])


def test_unmarked_lines_leave_out_solutions_hidden_code_and_docstrings() -> None:
    from grader.authoring.markers import parse
    source = ('def f(x):\n    """y = x.sum() * 2 + 1 + 3."""\n    z = backend.asarray(x)\n'
              "    # BEGIN SOLUTION\n    w = x.sum() * 2 + 1 + 3\n    # END SOLUTION\n    return w\n")
    found = leaks.unmarked_lines({"f.py": source}, {"f.py": parse(source, "f.py")})
    assert leaks.normalize("z = backend.asarray(x)") in found
    assert leaks.normalize("w = x.sum() * 2 + 1 + 3") not in found
    assert leaks.normalize("y = x.sum() * 2 + 1 + 3") not in found  # a docstring's text is not code
    assert leaks.solution_leaks({"f.py": [(5, "    z = backend.asarray(x) + 0")]},
                                {"s.py": "z = backend.asarray(x) + 0"}, found) != []
    assert leaks.solution_leaks({"f.py": [(5, "    z = backend.asarray(x)")]},
                                {"s.py": "z = backend.asarray(x)"}, found) == []
