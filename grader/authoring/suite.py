"""Run one test suite of an assignment against one submission, in a pytest subprocess.

The release gate uses this until the sandboxed grading engine exists; the command line is
the judge's (the harness plugins, ``--assert=plain`` so failures never print hidden
values), and the results file is the one the engine will write.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from grader.harness.jobspec import judge_pytest_args
from grader.judge_results import JudgeResults, JudgeTest

LOG_TAIL_CHARS = 4000


@dataclass
class SuiteRun:
    """What one run gave back: the parsed results file, or why there is none."""

    results: JudgeResults | None
    returncode: int
    log_tail: str
    problem: str | None = None

    @property
    def score(self) -> float:
        return self.results.score if self.results else 0.0

    @property
    def max_score(self) -> float:
        return self.results.max_score if self.results else 0.0

    def tests(self) -> list[JudgeTest]:
        return list(self.results.tests) if self.results else []


def run_suite(
    assignment_dir: Path,
    suite: str | list[str],
    submission: Path,
    *,
    reference: Path | None,
    seed: int,
    timeout_s: float,
    trace_dir: Path | None = None,
    trace_lines: bool = True,
    trace_calls: bool = False,
    points: Path | None = None,
    only_tests: Path | None = None,
    call_timeout_s: float | None = None,
    fetch_log: bool = False,
) -> SuiteRun:
    """Run ``assignment_dir/suite`` against ``submission`` and read its results.

    Args:
        assignment_dir: the assignment folder (rootdir: test ids are relative to it).
        suite: the tests folder inside it (``hidden_tests``), or several.
        submission: folder holding the student's ``beras/``.
        reference: folder holding the reference ``beras/`` (hidden tests), or None.
        seed: the run's seed.
        timeout_s: wall-clock limit of the whole run.
        trace_dir: record what ran of the files under this folder: the lines (``trace_lines``), and
            per test the functions it entered (``trace_calls``).
        points: the points file (``grader.harness.results.write_points``) of every test id of the
            assignment, as the release computes it; None: every test is worth 0.
        only_tests: JSON list of the test ids to run; the others are left out.
        call_timeout_s: run the submission in its own process (``--student-process``) with this deadline
            on every call, as grading does; None imports it in the judge's process.
        fetch_log: list each test's fetches (what, and a digest) in its record (``fetches``).

    Returns:
        The run; ``problem`` says why there are no results (timeout, crash).
    """
    with tempfile.TemporaryDirectory(prefix="beras-suite-") as scratch:
        results_path = Path(scratch) / "results.json"
        command = [
            sys.executable, "-m", "pytest", *([suite] if isinstance(suite, str) else suite),
            *judge_pytest_args(assignment_dir),
            "--submission", str(submission), "--seed", str(seed),
            "--results", str(results_path),
        ]
        if reference is not None:
            command += ["--reference", str(reference)]
        if trace_dir is not None:
            command += ["--trace-dir", str(trace_dir)]
            command += ["--trace-calls"] if trace_calls else []
            command += ["--trace-calls-only"] if trace_calls and not trace_lines else []
        if points is not None:
            command += ["--points", str(points)]
        if fetch_log:
            command += ["--fetch-log"]
        if only_tests is not None:
            command += ["--only-tests", str(only_tests)]
        if call_timeout_s is not None:
            command += ["--student-process", "--call-timeout", str(call_timeout_s),
                        "--student-log", str(Path(scratch) / "student.log")]
        # No bytecode files in the trees that later ship; one BLAS thread keeps runs comparable.
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1"}
        env.pop("PYTHONPATH", None)
        try:
            process = subprocess.run(
                command, cwd=assignment_dir, env=env, capture_output=True, text=True, timeout=timeout_s
            )
        except subprocess.TimeoutExpired as expired:
            log = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (
                expired.stdout or "")
            return SuiteRun(None, -1, log[-LOG_TAIL_CHARS:], f"{suite} did not finish within {timeout_s:g} s")
        log = (process.stdout + process.stderr)[-LOG_TAIL_CHARS:]
        if not results_path.is_file():
            return SuiteRun(None, process.returncode, log,
                            f"{suite} wrote no results (pytest exit {process.returncode})")
        try:
            results = JudgeResults.model_validate_json(results_path.read_bytes())
        except ValidationError as error:
            return SuiteRun(None, process.returncode, log,
                            f"{suite} wrote a malformed results file: {str(error)[:500]}")
        problem = None
        if not results.tests:
            problem = f"{suite} collected no tests"
        elif process.returncode not in (0, 1):  # 1 = some tests failed, which is a result
            problem = f"{suite}: pytest exit {process.returncode}"
        return SuiteRun(results, process.returncode, log, problem)


def collect_ids(assignment_dir: Path, suite: str) -> list[str]:
    """The ids of the tests in ``assignment_dir/suite`` (parameters included), without running them."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.run(
        [sys.executable, "-m", "pytest", suite, "--collect-only", "-q", "-c", os.devnull,
         "--rootdir", str(assignment_dir), "-p", "no:cacheprovider", "-p", "grader.harness.plugin"],
        cwd=assignment_dir, env=env, capture_output=True, text=True, timeout=300,
    )
    return [line.strip() for line in process.stdout.splitlines() if "::" in line and not line.startswith(" ")]
