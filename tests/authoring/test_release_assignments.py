"""The course's real assignments release through the gate, and their starters work on a bare machine."""

from __future__ import annotations

import os
import subprocess
import venv
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from grader import environment
from grader.authoring.build import build_trees, owners
from grader.authoring.config import discover_assignments, load_assignment
from grader.authoring.release import student_readme
from tests.conftest import release_with_cache

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference" / "beras"
ASSIGNMENTS = sorted(discover_assignments(ROOT / "assignments"))


def test_the_course_has_its_three_assignments() -> None:
    assert {"beras-mlp", "beras-cnn", "beras-dropout"} <= set(ASSIGNMENTS)


@pytest.mark.parametrize("name", ["beras-mlp", "beras-cnn"])
def test_the_other_starters_ship_dropout_as_a_stub_and_export_it(name: str) -> None:
    """Dropout's export in the shared __init__.py reaches every starter: there it is beras-dropout's stub."""
    assignment = load_assignment(ROOT / "assignments" / name, reference_root=REFERENCE)
    trees = build_trees(assignment, REFERENCE, owners(ROOT / "assignments", REFERENCE))
    stub = trees.starter["layers/dropout.py"]
    assert 'raise NotImplementedError("Dropout.forward")' in stub and "rng().random" not in stub
    assert "Dropout" in trees.starter["__init__.py"] and "Dropout" in trees.starter["layers/__init__.py"]


def test_every_marked_file_has_exactly_one_owner() -> None:
    marked = {p.relative_to(REFERENCE).as_posix() for p in REFERENCE.rglob("*.py")
              if "BEGIN SOLUTION" in p.read_text()}
    assert set(owners(ROOT / "assignments", REFERENCE)) == marked


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_stub_of_every_owned_file_keeps_no_solution_body(name: str) -> None:
    assignment = load_assignment(ROOT / "assignments" / name, reference_root=REFERENCE)
    trees = build_trees(assignment, REFERENCE, owners(ROOT / "assignments", REFERENCE))
    assert not trees.problems
    for rel in assignment.files.owned:
        assert "raise NotImplementedError(" in trees.starter[rel]
        assert trees.stubbed[rel], f"{rel} has no student work"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_starter_readme_names_the_grading_environment(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Students are told the Python, numpy and pytest they are graded on, from the one declaration."""
    assignment = load_assignment(ROOT / "assignments" / name, reference_root=REFERENCE)
    trees = build_trees(assignment, REFERENCE, owners(ROOT / "assignments", REFERENCE))
    template = resources.files("grader.authoring").joinpath("templates", "README.md").read_text()
    readme = student_readme(assignment, trees, {}, template)
    numpy, pytest_version = environment.WHEELS["numpy"], environment.WHEELS["pytest"]
    assert f"**Python {environment.PYTHON}** with **numpy {numpy}**" in readme
    assert f"pip install numpy=={numpy} pytest=={pytest_version}" in readme
    monkeypatch.setattr(environment, "WHEELS", {**environment.WHEELS, "numpy": "9.9.9"})
    assert "numpy==9.9.9" in student_readme(assignment, trees, {}, template)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, mlp_outcome, gate_cache: Path) -> dict[str, object]:
    """Release every assignment once (the gate runs each suite several times); beras-mlp's release is the
    session's (tests/conftest.py), so its gate runs once per test run."""
    out = tmp_path_factory.mktemp("releases")
    # Seed 7, as the session's beras-mlp release: check 8 caches its runs by seed.
    return {name: mlp_outcome if name == "beras-mlp" else
            release_with_cache(gate_cache, ROOT / "assignments" / name, out, reference_package=REFERENCE,
                               seed=7)
            for name in ASSIGNMENTS}


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_assignment_passes_the_release_gate(released: dict, name: str) -> None:
    outcome = released[name]
    assert outcome.report.ok, outcome.report.format()
    figures = {check.number: check.figure for check in outcome.report.checks}
    assert "stub hidden 0/" in figures[3] and figures[4] == "leaks 0" and figures[5].endswith("uncovered 0")


@pytest.mark.slow
def test_the_cnn_release_reports_the_mlp_solutions_it_ships(released: dict) -> None:
    text = released["beras-cnn"].report.format()
    assert "ships layers/dense.py (solution of beras-mlp) complete" in text
    stub = zipfile.ZipFile(released["beras-cnn"].starter_zip).read(
        "beras-cnn-starter/beras/layers/conv.py").decode()
    assert 'raise NotImplementedError("Conv2D.forward")' in stub


@pytest.fixture(scope="module")
def numpy_only_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding numpy and nothing else (no pytest, no beras, no grader)."""
    home = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=True).create(home)
    python = home / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "numpy"],
                   check=True, timeout=600)
    return python


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_starter_runs_its_public_tests_with_only_numpy(released: dict, numpy_only_python: Path,
                                                           tmp_path: Path, name: str) -> None:
    starter = _unzip_starter(released[name].starter_zip, tmp_path)
    ran = _run(numpy_only_python, starter, "run_tests.py", "--seed", "1")
    output = ran.stdout + ran.stderr
    assert ran.returncode == 1, output
    failures = [line for line in output.splitlines() if line.startswith("FAILED")]
    assert failures and all("NotImplementedError" in line for line in failures), output
    assert "ImportError" not in output and "ModuleNotFoundError" not in output
    assert "0 passed" in output
    zipped = _run(numpy_only_python, starter, "make_submission.py")
    assert zipped.returncode == 0, zipped.stderr
    owned = load_assignment(ROOT / "assignments" / name).files.owned
    assert (sorted(zipfile.ZipFile(starter / "submission.zip").namelist())
            == sorted(f"beras/{p}" for p in owned))


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_starter_with_the_solution_filled_in_passes_its_public_tests(released: dict,
                                                                         numpy_only_python: Path,
                                                                         tmp_path: Path, name: str) -> None:
    starter = _unzip_starter(released[name].starter_zip, tmp_path)
    solution = released[name].autograder_dir / "reference" / "beras"
    for rel in load_assignment(ROOT / "assignments" / name).files.owned:
        (starter / "beras" / rel).write_text((solution / rel).read_text())
    ran = _run(numpy_only_python, starter, "run_tests.py", "--seed", "2")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert " 0 failed" in ran.stdout


def _unzip_starter(starter_zip: Path, into: Path) -> Path:
    with zipfile.ZipFile(starter_zip) as archive:
        archive.extractall(into)
    (starter,) = into.iterdir()
    return starter


def _run(python: Path, starter: Path, *args: str) -> subprocess.CompletedProcess:
    """Run a starter script as a student would: in its folder, with a bare environment."""
    return subprocess.run([python, *args], cwd=starter,
                          env={"PATH": os.environ["PATH"], "HOME": str(starter)},
                          capture_output=True, text=True, timeout=600)
