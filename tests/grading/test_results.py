"""The judge's results file is checked before use: size, schema, tests and points the release does not
have."""

from __future__ import annotations

import json

import pytest

from worker.grading import results as R


def _judge_file(mlp, tmp_path, mutate=None):
    tests = [{"name": t, "status": "passed", "outcome": "passed", "score": mlp.points[t].points,
              "max_score": mlp.points[t].points, "output": ""} for t in mlp.test_ids]
    data = {"complete": True, "seed": 1, "tests": tests}
    if mutate:
        mutate(data)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    return path


def test_a_valid_file_is_read(mlp, tmp_path):
    judge = R.read_judge_results(_judge_file(mlp, tmp_path), mlp)
    assert len(judge.tests) == len(mlp.test_ids) and judge.complete


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["tests"][0].update(max_score=1000.0), "differs from the release"),
    (lambda d: d["tests"].append({**d["tests"][0], "name": "hidden_tests/test_x.py::test_forged"}),
     "does not have"),
    (lambda d: d["tests"][0].update(status="excellent"), "malformed"),
    (lambda d: d["tests"][0].update(score=float("nan")), "malformed"),
    (lambda d: d.pop("tests"), "malformed"),
])
def test_tampered_files_are_refused(mlp, tmp_path, mutate, words):
    with pytest.raises(R.ResultsInvalid, match=words):
        R.read_judge_results(_judge_file(mlp, tmp_path, mutate), mlp)


def test_oversized_and_missing_files_are_refused(mlp, tmp_path):
    with pytest.raises(R.ResultsInvalid, match="no results file"):
        R.read_judge_results(tmp_path / "absent.json", mlp)
    big = tmp_path / "results.json"
    big.write_bytes(b" " * (R.MAX_RESULTS_BYTES + 1))
    with pytest.raises(R.ResultsInvalid, match="cap"):
        R.read_judge_results(big, mlp)


def test_scores_come_from_the_release_not_the_file(mlp, tmp_path):
    """A judge file claiming a score for a failed test cannot raise the grade."""
    def forge(data):
        data["tests"][0].update(status="failed", outcome="failed", score=data["tests"][0]["max_score"])
    judge = R.read_judge_results(_judge_file(mlp, tmp_path, forge), mlp)
    tests = R.build_tests(judge, mlp, ("not_run", "not run"))
    assert tests[0].score == 0.0 and tests[0].status == "failed"
    assert all(t.status in ("passed", "failed") for t in tests)  # Gradescope's two statuses
