"""The release gate on a toy project: it passes when all is well, and each check fails on its own fault."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.authoring.config import AssignmentConfigError
from grader.authoring.release import release
from grader.authoring.released import load_released
from grader.cli import app

TOY = Path(__file__).parent / "toy"


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """A fresh copy of the toy project (reference/beras and assignments/toy)."""
    root = tmp_path / "project"
    shutil.copytree(TOY, root)
    return root


def _release(root: Path, seed: int = 7):
    return release(root / "assignments" / "toy", root / "out", reference_package=root / "reference" / "beras",
                   seed=seed)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def _verdicts(outcome) -> dict[int, bool]:
    return {check.number: check.ok for check in outcome.report.checks}


def test_a_sound_release_passes_every_check_and_writes_both_parts(toy: Path) -> None:
    outcome = _release(toy)
    assert outcome.report.ok, outcome.report.format()
    text = outcome.report.format()
    assert "reference public 2/2, hidden 8/8" in text
    assert "stub hidden 0/8" in text and "leaks 0" in text and "uncovered 0" in text
    assert "2 runs with seed 7: identical" in text
    assert ("7. degenerate submissions score nothing: 2 submissions, public + hidden of 10: generic-identity "
            "0, generic-zeros 0 (free points allowed: 0)" in text)
    names = zipfile.ZipFile(outcome.starter_zip).namelist()
    assert "toy-starter/beras/ops.py" in names and "toy-starter/public_tests/test_sanity.py" in names
    assert not any("hidden" in name for name in names)
    stub = zipfile.ZipFile(outcome.starter_zip).read("toy-starter/beras/ops.py").decode()
    assert 'raise NotImplementedError("double")' in stub and "* 2.0" not in stub
    grader = outcome.autograder_dir
    assert (grader / "toy" / "hidden_tests" / "test_ops.py").is_file()
    assert "* 2.0" in (grader / "reference" / "beras" / "ops.py").read_text()
    assert "BEGIN SOLUTION" not in (grader / "reference" / "beras" / "ops.py").read_text()
    assert (grader / "release.json").is_file()


def test_the_release_records_each_tests_reference_time_for_the_call_deadlines(toy: Path) -> None:
    outcome = _release(toy)
    assert outcome.report.ok, outcome.report.format()
    times = json.loads((outcome.autograder_dir / "release.json").read_text())["reference_times_s"]
    ids = json.loads((outcome.autograder_dir / "test-ids.json").read_text())
    assert sorted(times) == sorted(ids) and len(ids) == 3
    assert all(0 < seconds < 60 for seconds in times.values()), times
    assert load_released(outcome.autograder_dir).reference_times == times


def test_the_same_inputs_give_the_same_starter_bytes_and_version(toy: Path) -> None:
    first = _release(toy)
    zip_bytes = first.starter_zip.read_bytes()
    second = _release(toy, seed=8)
    assert second.starter_zip.read_bytes() == zip_bytes
    assert second.version == first.version


def test_a_bug_in_the_reference_fails_check_2_and_nothing_is_written(toy: Path) -> None:
    _edit(toy / "reference/beras/ops.py", "return np.asarray(x) * 2.0", "return np.asarray(x) * 2.5")
    outcome = _release(toy)
    assert _verdicts(outcome)[2] is False and not outcome.report.ok
    assert "test_double_of_ones" in outcome.report.format()
    assert not (toy / "out").exists()


def test_a_hidden_test_that_passes_on_the_stub_fails_check_3(toy: Path) -> None:
    (toy / "assignments/toy/hidden_tests/test_free.py").write_text(
        "def test_module_has_double(student):\n"
        "    assert student.beras.double is not None\n"
    )
    outcome = _release(toy)
    verdicts = _verdicts(outcome)
    assert verdicts[2] and verdicts[3] is False
    assert "test_module_has_double passes on the untouched starter" in outcome.report.format()


def test_declared_free_points_allow_that_much_on_the_stub(toy: Path) -> None:
    (toy / "assignments/toy/hidden_tests/test_free.py").write_text(
        "def test_always(student):\n    pass\n"
    )
    _edit(toy / "assignments/toy/assignment.toml", 'title = "Toy"', 'title = "Toy"\nfree_points = 4')
    outcome = _release(toy)
    assert _verdicts(outcome)[3], outcome.report.format()  # 8 points over 3 tests: 2.67 free <= 4


def test_a_hidden_test_a_generic_degenerate_passes_fails_check_7_naming_both(toy: Path) -> None:
    # Fails on the stub (it raises), passes for "return the first argument": a shape check only.
    (toy / "assignments/toy/hidden_tests/test_weak.py").write_text(
        "import numpy as np\nfrom grader.harness import fetch\n\n"
        "def test_double_keeps_the_shape(student, rng):\n"
        "    assert np.shape(fetch(student.beras.double(rng.normal(size=(3, 4))))) == (3, 4)\n"
    )
    outcome = _release(toy)
    verdicts = _verdicts(outcome)
    assert verdicts[2] and verdicts[3] and verdicts[7] is False and not outcome.report.ok
    text = outcome.report.format()
    assert "Release refused: check 7 failed" in text
    assert ("generic-identity (every solution returns its first argument unchanged) earns 2.66667 points "
            "(free points allowed: 0) from hidden_tests/test_weak.py::test_double_keeps_the_shape (2.66667)"
            in text)
    assert "generic-zeros (every solution returns zeros shaped like its first argument) earns 2.66667" in text
    assert not (toy / "out").exists()


def _case(toy: Path, name: str, toml: str, ops: str) -> None:
    folder = toy / "assignments/toy/degenerate" / name
    folder.mkdir(parents=True)
    (folder / "case.toml").write_text(toml)
    (folder / "ops.py").write_text(ops)


def test_a_hand_written_case_that_scores_fails_check_7_naming_it(toy: Path) -> None:
    (toy / "assignments/toy/hidden_tests/test_sign.py").write_text(
        "from grader.harness import fetch\n\n"
        "def test_scale_sum_of_positives_is_positive(student, rng):\n"
        "    assert fetch(student.beras.scale_sum(rng.uniform(1, 2, size=5), 3.0)) > 0, 'expected a positive "
        "sum'\n"
    )
    _case(toy, "constant", 'description = "scale_sum always returns 1"\n',
          "def double(x):\n    raise NotImplementedError\n\n\ndef scale_sum(x, factor):\n    return 1.0\n")
    outcome = _release(toy)
    assert _verdicts(outcome)[7] is False
    text = outcome.report.format()
    assert "generic-identity 0, generic-zeros 0, constant 2.66667" in text
    assert "constant (scale_sum always returns 1) earns 2.66667 points (free points allowed: 0) from " \
           "hidden_tests/test_sign.py::test_scale_sum_of_positives_is_positive (2.66667)" in text


def test_a_case_with_groups_must_earn_nothing_there_and_may_earn_elsewhere(toy: Path) -> None:
    # double is wrong (public and hidden tests of it fail), scale_sum is right (a hidden test passes).
    wrong_double = "import numpy as np\n\n\ndef double(x):\n    return np.asarray(x) * 3.0\n\n\n" \
                   "def scale_sum(x, factor):\n    return float(np.asarray(x).sum() * factor)\n"
    _case(toy, "half-right", 'description = "only scale_sum"\nbase = "reference"\ngroups = ["public"]\n',
          wrong_double)
    outcome = _release(toy)
    assert outcome.report.ok, outcome.report.format()
    assert "half-right 0 in its groups" in outcome.report.format()
    _edit(toy / "assignments/toy/degenerate/half-right/case.toml", '["public"]', '["public", "hidden"]')
    outcome = _release(toy)
    assert _verdicts(outcome)[7] is False
    assert ("half-right (only scale_sum) earns 4 points (2 group(s) it must earn nothing in: public, hidden) "
            "from hidden_tests/test_ops.py::test_scale_sum_random (4)" in outcome.report.format())


def test_a_malformed_case_fails_check_7_and_the_generic_ones_still_run(toy: Path) -> None:
    _case(toy, "stray", 'description = "x"\n', "x = 1\n")
    (toy / "assignments/toy/degenerate/stray/notes.txt").write_text("not an owned file")
    outcome = _release(toy)
    assert _verdicts(outcome)[7] is False and _verdicts(outcome)[2]
    text = outcome.report.format()
    assert "degenerate/stray: notes.txt is not a file the students own (ops.py)" in text
    assert "2 submissions, public + hidden of 10: generic-identity 0, generic-zeros 0" in text


def test_a_solution_line_copied_outside_its_markers_fails_check_4(toy: Path) -> None:
    _edit(toy / "reference/beras/ops.py", '"""factor * sum(x)."""',
          '"""factor * sum(x)."""\n    # hint: total = x.sum() * factor')
    outcome = _release(toy)
    assert _verdicts(outcome)[4] is False
    assert "total = x.sum() * factor" in outcome.report.format()


def test_a_hidden_test_name_in_the_public_tests_fails_check_4(toy: Path) -> None:
    _edit(toy / "assignments/toy/public_tests/test_sanity.py", "def test_double_of_ones",
          "def test_double_random")
    outcome = _release(toy)
    assert _verdicts(outcome)[4] is False
    assert "hidden test name 'test_double_random'" in outcome.report.format()


def test_a_stubbed_function_no_hidden_test_runs_fails_check_5(toy: Path) -> None:
    with (toy / "reference/beras/ops.py").open("a") as f:
        f.write('\n\ndef triple(x):\n    """Three times x."""\n    # BEGIN SOLUTION\n    return x * 3\n'
                '    # END SOLUTION\n')
    outcome = _release(toy)
    assert _verdicts(outcome)[5] is False
    assert "triple" in outcome.report.format() and "uncovered 1" in outcome.report.format()


def test_an_unseeded_hidden_test_fails_check_6(toy: Path) -> None:
    (toy / "assignments/toy/hidden_tests/test_unseeded.py").write_text(
        "import numpy as np\nfrom grader.harness import assert_close\n\n"
        "def test_double_unseeded(student, reference):\n"
        "    x = np.random.default_rng().normal(size=4)\n"
        "    assert_close(student.beras.double(x), reference.beras.double(x))\n"
    )
    outcome = _release(toy)
    verdicts = _verdicts(outcome)
    assert verdicts[2] and verdicts[6] is False
    assert "test_double_unseeded: differs between two runs" in outcome.report.format()


def test_a_marker_error_fails_check_1_naming_file_and_line(toy: Path) -> None:
    _edit(toy / "reference/beras/ops.py", "    # END SOLUTION\n\n\ndef scale_sum", "\n\ndef scale_sum")
    outcome = _release(toy)
    assert _verdicts(outcome)[1] is False and not outcome.report.ok
    assert ("beras/ops.py:14: '# BEGIN SOLUTION' inside the SOLUTION block opened at line 7"
            in outcome.report.format())
    assert all(check.figure.startswith("not run") for check in outcome.report.checks[1:])


def test_an_invalid_assignment_toml_is_a_config_error(toy: Path) -> None:
    _edit(toy / "assignments/toy/assignment.toml", 'title = "Toy"', 'title = "Toy"\nqueue = "tpu"')
    with pytest.raises(AssignmentConfigError, match="queue"):
        _release(toy)


def test_the_cli_prints_the_report_and_exits_by_verdict(toy: Path, monkeypatch) -> None:
    monkeypatch.chdir(toy)
    runner = CliRunner()
    passed = runner.invoke(app, ["release", "toy", "--out", "out", "--seed", "3"])
    assert passed.exit_code == 0, passed.output
    assert "Release passed" in passed.output and "toy-starter.zip" in passed.output
    _edit(toy / "reference/beras/ops.py", "return np.asarray(x) * 2.0", "return np.asarray(x) * 2.5")
    refused = runner.invoke(app, ["release", "toy", "--out", "out2", "--seed", "3"])
    assert refused.exit_code == 1 and "Release refused: check 2, 9 failed" in refused.output
    (toy / "a-file").write_text("")
    onto_file = runner.invoke(app, ["release", "toy", "--out", "a-file"])
    assert onto_file.exit_code == 2  # Typer's wording (was ours: "--out a-file is a file"), frame-wrapped
    assert "'--out': dir 'a-file' is a file" in " ".join(onto_file.output.replace("│", " ").split())
    missing = runner.invoke(app, ["release", "nope", "--out", "out3"])
    assert missing.exit_code == 2 and "no assignment at assignments/nope" in missing.output
    _edit(toy / "assignments/toy/assignment.toml", 'title = "Toy"', 'title = "Toy"\nqueue = "tpu"')
    invalid = runner.invoke(app, ["release", "toy", "--out", "out4"])
    assert invalid.exit_code == 2 and "queue" in invalid.output and "Traceback" not in invalid.output


def test_the_leak_check_reads_the_hidden_folder_the_toml_names(toy: Path) -> None:
    folder = toy / "assignments/toy"
    (folder / "hidden_tests").rename(folder / "secret_tests")
    _edit(folder / "assignment.toml", 'tests = ["hidden_tests/*"]', 'tests = ["secret_tests/*"]')
    _edit(folder / "assignment.toml", 'title = "Toy"', 'title = "Toy"\n[tests]\nhidden = "secret_tests"')
    _edit(folder / "public_tests/test_sanity.py", "def test_double_of_ones", "def test_double_random")
    outcome = _release(toy)
    assert _verdicts(outcome)[4] is False
    assert "hidden test name 'test_double_random'" in outcome.report.format()
