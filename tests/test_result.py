"""The grade result model: it writes exactly the JSON results.json and the database have always held."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from grader.result import (
    BATCH_FAILURE_KEYS,
    WORKER_FAILURE_KEYS,
    GradeResult,
    Outcome,
    ResultStatus,
    TestStatus,
)

# A graded result as grade_zip wrote it before the model (key order included), with a test worth 3 written
# as an int: the JSON keeps each number as it was given.
GRADED = {
    "score": 3, "max_score": 4.5, "execution_time": 12.345, "output": "Score: 3 / 4.5.",
    "visibility": "visible", "stdout_visibility": "hidden",
    "tests": [
        {"name": "hidden_tests/test_a.py::test_one", "number": "1", "score": 3, "max_score": 3,
         "status": "passed", "outcome": "passed", "output": "", "visibility": "visible", "tags": ["Dense"],
         "duration_s": 0.5, "fetch_digest": "ab12"},
        {"name": "hidden_tests/test_a.py::test_two", "number": "2", "score": 0.0, "max_score": 1.5,
         "status": "failed", "outcome": "out_of_memory", "output": "killed", "visibility": "after_due_date",
         "tags": ["Loss"], "duration_s": 0.0, "fetch_digest": ""},
    ],
    "status": "graded", "complete": True, "seed": 7, "assignment": {"name": "beras-mlp", "version": "abc"},
    "integrity": {"tamper_proof": True, "note": "separate uids", "confined": False,
                  "missing": [{"guarantee": "cpu_limit", "why": "no cgroup"}]},
    "sandbox": {"backend": "local"},
    "environment": {"backend": "local", "image": None, "python": "3.11.7", "numpy": "2.4.6", "pytest": None},
    "resources": {"wall_s": 11.0, "cpu_s": 9.5, "peak_memory_mb": 180.2, "student_processes": 2,
                  "student_output_bytes": 10, "oom_killed": False, "memory_limit_mb": 2048, "cpu_limit": 2.0,
                  "pids_limit": 256},
    "phases": {"intake_s": 0.01, "prepare_s": 0.2, "launcher_judge_s": 9.0, "run_s": 10.0},
    "submission": {"taken": ["beras/dense.py"], "missing": [], "ignored": ["notes.txt (not owned)"],
                   "summary": "1 file"},
    "problems": [],
    "logs": {"judge.log": "f00d"},
    "replay": True,
}


def test_a_graded_result_reads_and_writes_the_same_json_key_for_key_and_in_order():
    result = GradeResult.from_json(GRADED)
    written = result.to_json()
    assert written == GRADED
    assert json.dumps(written) == json.dumps(GRADED)  # the order and the number types too


def test_the_model_is_typed_inside():
    result = GradeResult.from_json(GRADED)
    assert result.status is ResultStatus.GRADED and result.graded
    assert [t.outcome for t in result.tests] == [Outcome.PASSED, Outcome.OUT_OF_MEMORY]
    assert result.tests[1].status is TestStatus.FAILED and result.tests[1].group == "Loss"
    assert result.lost_groups() == ["Loss"]
    assert result.integrity.missing[0].guarantee == "cpu_limit"
    assert result.resources is not None and result.resources.pids_limit == 256
    with pytest.raises(ValidationError):
        result.score = 1  # frozen: a result is built, not edited


def test_a_rejected_result_keeps_its_empty_resources_and_submission_and_writes_no_worker_keys():
    rejected = GradeResult(max_score=10.0, status=ResultStatus.REJECTED, seed=1, output="not a zip")
    written = rejected.to_json()
    assert written["resources"] == {} and written["submission"] == {}
    assert "logs" not in written and "replay" not in written
    # No versions: it never reached a sandbox.
    assert written["environment"] == {"backend": None, "image": None}
    assert written["status"] == "rejected" and json.loads(json.dumps(written))["status"] == "rejected"
    assert GradeResult.from_json(written).to_json() == written


def test_a_result_that_never_ran_writes_only_its_few_keys():
    worker = GradeResult.not_graded("Could not be graded: boom.", WORKER_FAILURE_KEYS, problems=("trace",))
    assert worker.to_json() == {"status": "error", "score": 0.0, "max_score": 0.0, "tests": [],
                                "output": "Could not be graded: boom.", "problems": ["trace"]}
    batch = GradeResult.not_graded("Could not be graded: the grader failed (x)", BATCH_FAILURE_KEYS,
                                   seed=None)
    assert list(batch.to_json()) == ["status", "score", "max_score", "tests", "seed", "output"]
    assert batch.to_json()["seed"] is None and batch.partial and not worker.graded


def test_a_stored_row_that_is_not_a_result_is_refused():
    with pytest.raises(ValidationError):
        GradeResult.from_json({"status": "maybe"})
