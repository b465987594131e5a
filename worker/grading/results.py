"""The judge's results file, checked before anything uses it, and the grade result's tests built from it.

The judge is trusted, but its file is still read as untrusted input: size-capped, parsed,
schema-checked (pydantic), and every test's points compared with the release's own
points table; scores are recomputed here from the statuses, so nothing in the file can
raise a score. The grade result itself is ``grader.result.GradeResult`` (Gradescope's
``results.json`` plus our fields), written once, by ``write_results``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from pydantic import ValidationError

from grader.authoring.released import Released
from grader.harness.jobspec import RESULTS_MAX_BYTES as MAX_RESULTS_BYTES
from grader.judge_results import JudgeResults
from grader.result import GradeResult, Outcome, ResultStatus, TestResult, TestStatus

MAX_TEST_OUTPUT = 8000
# The old names of the statuses, for callers that still import them from here.
GRADED, REJECTED, ERROR = ResultStatus.GRADED, ResultStatus.REJECTED, ResultStatus.ERROR


class ResultsInvalid(Exception):
    """The judge's results file is missing, too large or malformed; the message says which."""


def read_judge_results(path: Path, released: Released) -> JudgeResults:
    """Read and check the judge's file against the release.

    Raises:
        ResultsInvalid: missing, over ``MAX_RESULTS_BYTES``, not JSON, not the schema, a test the release
            does not have, or points that differ from the release's.
    """
    if not path.is_file():
        raise ResultsInvalid("the judge wrote no results file")
    size = path.stat().st_size
    if size > MAX_RESULTS_BYTES:
        raise ResultsInvalid(f"the results file is {size} bytes, over the {MAX_RESULTS_BYTES}-byte cap")
    try:
        results = JudgeResults.model_validate(json.loads(path.read_bytes()))
    except (ValueError, ValidationError) as error:
        raise ResultsInvalid(f"the results file is malformed: {str(error)[:500]}") from None
    for test in results.tests:
        expected = released.points.get(test.name)
        if expected is None:
            raise ResultsInvalid(f"the results name a test the release does not have: {test.name}")
        if not math.isclose(test.max_score, expected.points, abs_tol=1e-9):
            raise ResultsInvalid(f"{test.name}: max_score {test.max_score} differs from the release's "
                                 f"{expected.points}")
    return results


def not_run_reason(timed_out: bool, oom_killed: bool, wall_s: float,
                   crashed: str | None) -> tuple[Outcome, str]:
    """The outcome and message of a test the run never finished."""
    if timed_out:
        return (Outcome.TIMEOUT,
                f"not run: the grading run reached its wall-clock limit of {wall_s:g} s before this test")
    if oom_killed:
        return Outcome.OUT_OF_MEMORY, "not run: the grading run ran out of memory before this test"
    if crashed:
        return (Outcome.INFRASTRUCTURE_ERROR,
                f"not run: the grader itself failed ({crashed}); ask your TA to regrade")
    return Outcome.NOT_RUN, "not run: the grading run stopped before this test"


def selected_ids(released: Released, suites: tuple[str, ...] | None) -> list[str]:
    """The release's test ids under the given folders or files (all of them for None)."""
    if not suites:
        return list(released.test_ids)
    prefixes = tuple(suite.rstrip("/") for suite in suites)
    return [t for t in released.test_ids
            if any(t == p or t.startswith(p + "/") or t.startswith(p + "::") for p in prefixes)]


def build_tests(judge: JudgeResults, released: Released, unfinished: tuple[Outcome, str],
                suites: tuple[str, ...] | None = None) -> list[TestResult]:
    """Gradescope-shaped tests with the release's points; unfinished ones say why."""
    tests = []
    by_name = {test.name: test for test in judge.tests}
    for number, test_id in enumerate(selected_ids(released, suites), start=1):
        weight = released.points[test_id]
        test = by_name.get(test_id)
        if test is None or test.status == "not_run":
            outcome, output = unfinished
        else:
            outcome, output = (test.outcome if test.status != "passed" else Outcome.PASSED), test.output
        passed = outcome is Outcome.PASSED
        tests.append(TestResult(
            name=test_id, number=str(number),
            score=weight.points if passed else 0.0, max_score=weight.points,
            status=TestStatus.PASSED if passed else TestStatus.FAILED, outcome=outcome,
            output=output[:MAX_TEST_OUTPUT], visibility=str(weight.visibility), tags=(weight.group,),
            duration_s=test.duration_s if test else 0.0, fetch_digest=test.fetch_digest if test else "",
        ))
    return tests


def summary_output(status: ResultStatus, score: float, max_score: float, message: str = "") -> str:
    if status is ResultStatus.GRADED:
        return f"Score: {score:g} / {max_score:g}." + (f" {message}" if message else "")
    return message


def write_results(result: GradeResult, path: Path) -> None:
    """Write ``results.json``: the one place a grade result becomes a file."""
    path.write_text(json.dumps(result.to_json(), indent=1, sort_keys=False) + "\n")
