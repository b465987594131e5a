"""Check 9 of the release gate: the starter zip works as shipped, for a correct student with numpy alone.

The very zip students download is unzipped, the reference's solutions of the owned files are
dropped in (a correct student), and its ``run_tests.py`` runs in a Python that can import only
the standard library and numpy (``-I -S``, one folder of links to the numpy package on
``sys.path``): no pytest, no scikit-learn. Every public test must pass there; a public test that
imports pytest, or reaches a file the students get as a stub, is refused, naming the file.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from grader.authoring.build import Trees, stub_scopes
from grader.authoring.config import Assignment

_BOOT = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); script = sys.argv[2]; sys.argv = sys.argv[2:]; "
         "runpy.run_path(script, run_name='__main__')")
_RESULT = re.compile(r"^(passed|FAILED) (\S+?)(?::(?= )|$)(.*)$")
_MISSING_MODULE = re.compile(r"No module named '([^']+)'")
LOG_TAIL_CHARS = 1500


@dataclass
class Shipped:
    """What check 9 found: its headline figure and the problems, each saying what to do (none: it passed)."""

    figure: str
    details: list[str] = field(default_factory=list)


def stubbed_use(output: str, scopes: dict[str, tuple[str, str]]) -> list[str]:
    """What a failed test's ``output`` says of stubs it reached in other assignments' files, and the fix.

    Args:
        output: the test's failure text.
        scopes: ``build.stub_scopes``: stubbed scope -> (path inside the package, owning assignment).
    """
    found = []
    for scope, (rel, owner) in scopes.items():
        if re.search(rf"NotImplementedError\W+{re.escape(scope)}\b", output):
            found.append(f"it reaches {scope} in beras/{rel}, which the students get as a stub ({owner} owns "
                         f"it): list \"{rel}\" in files.solutions_released once {owner} has closed, or do "
                         "not use it")
    return found


def numpy_only_path(folder: Path) -> Path:
    """Make ``folder`` a ``sys.path`` entry that holds numpy (and its bundled libraries) and nothing else."""
    package = Path(numpy.__file__).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "numpy").symlink_to(package, target_is_directory=True)
    libs = package.parent / "numpy.libs"  # manylinux wheels keep their BLAS here
    if libs.is_dir():
        (folder / "numpy.libs").symlink_to(libs, target_is_directory=True)
    return folder


def check_starter_zip(starter_zip: Path, assignment: Assignment, trees: Trees, public_ids: list[str],
                      seed: int, timeout_s: float) -> Shipped:
    """Check 9: ``run_tests.py`` of the unzipped starter, with the owned files solved, passes every public
    test.

    Args:
        starter_zip: the staged zip.
        assignment: the assignment (its owned files and public folder).
        trees: the rendered trees (the reference's solutions, the stubbed files of other assignments).
        public_ids: the public tests' ids, as pytest collects them.
        seed: the run's seed.
        timeout_s: wall-clock limit of the run.

    Returns:
        The figure and the problems.
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="beras-shipped-") as scratch:
        root = Path(scratch)
        with zipfile.ZipFile(starter_zip) as archive:
            archive.extractall(root / "unzipped")
        starter = root / "unzipped" / f"{assignment.name}-starter"
        for rel in assignment.files.owned:  # a correct student: the owned files solved, nothing else touched
            if rel in trees.reference:
                (starter / "beras" / rel).write_text(trees.reference[rel].text, encoding="utf-8")
        site = numpy_only_path(root / "site")
        command = [sys.executable, "-I", "-S", "-B", "-c", _BOOT, str(site), str(starter / "run_tests.py"),
                   "--seed", str(seed)]
        env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "LANG": "C.UTF-8"}
        try:
            process = subprocess.run(command, cwd=starter, env=env, capture_output=True, text=True,
                                     timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return Shipped(f"run_tests.py did not finish within {timeout_s:g} s",
                           [f"run_tests.py did not finish within {timeout_s:g} s: a public test hangs, or "
                            "the public tests are too slow for the limit"])
    seconds = time.monotonic() - started
    output = process.stdout + process.stderr
    details, passed = _judge(output, assignment, public_ids, stub_scopes(trees))
    reported = any(_RESULT.match(line) for line in output.splitlines())
    if process.returncode != 0 and not reported:
        # run_tests.py itself broke before any test: its traceback is the finding, not the missing tests
        details.insert(0, f"run_tests.py exited with {process.returncode} before running any test: "
                          f"{output[-LOG_TAIL_CHARS:]}")
    elif process.returncode != 0 and not details:
        details.append(f"run_tests.py exited with {process.returncode}: {output[-LOG_TAIL_CHARS:]}")
    figure = (f"run_tests.py with numpy only (no pytest), the owned files solved: {passed} of "
              f"{len(public_ids)} public tests pass ({seconds:.1f} s)")
    return Shipped(figure, details)


def _judge(output: str, assignment: Assignment, public_ids: list[str],
           scopes: dict[str, tuple[str, str]]) -> tuple[list[str], int]:
    """The problems in ``run_tests.py``'s output, each with what to do, and how many public tests passed."""
    seen: dict[str, tuple[bool, str]] = {}
    for line in output.splitlines():
        match = _RESULT.match(line)
        if match:
            seen[match.group(2)] = (match.group(1) == "passed", match.group(3).strip())
    details = []
    for name, (ok, why) in seen.items():
        if ok:
            continue
        file = name.split("::")[0]
        hints = stubbed_use(why, scopes)
        module = _MISSING_MODULE.search(why)
        if module:
            hints.append(f"{file} imports {module.group(1)}, which students without it cannot run: "
                         "run_tests.py runs the public tests with numpy alone; import only the standard "
                         "library, numpy, beras and grader.harness there (plain asserts, the "
                         f"student/seed/rng fixtures), or move the test to {assignment.tests.hidden}/")
        elif "only pytest provides" in why:
            hints.append(f"{file}: public tests may take only the student, seed and rng fixtures (no "
                         "parametrize or other pytest fixtures): run_tests.py runs them without pytest")
        details.append(f"{name}: {why}" + "".join(f"; {hint}" for hint in hints))
    ran = {name.split("[")[0] for name in seen} | {name.split("::")[0] for name in seen}
    for test_id in public_ids:
        if test_id.split("[")[0] not in ran and test_id.split("::")[0] not in ran:
            details.append(f"{test_id}: did not run under run_tests.py without pytest (only plain test_* "
                           "functions of public_tests/test_*.py run there)")
    passed = sum(1 for test_id in public_ids if seen.get(test_id, (False, ""))[0])
    return details, passed
