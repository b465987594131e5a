"""The judge's results file, parsed once into one model that the worker and the gate both read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from grader.judge_results import JudgeResults


def _file(**fields) -> dict:
    test = {"name": "hidden_tests/test_a.py::test_one", "status": "passed", "score": 2.0, "max_score": 2.0,
            "group": "A", "outcome": "passed", "longest_call_s": 0.25, "fetch_digest": "ab", "future": 1}
    return {"complete": True, "seed": 7, "tests": [test], "score": 2.0, "max_score": 2.0, **fields}


def test_a_worker_s_file_parses_with_the_gate_s_traces_absent_and_unknown_keys_ignored():
    results = JudgeResults.model_validate(_file(newer_key="ignored"))
    test = results.tests[0]
    assert (test.name, test.status, test.score, test.group, test.longest_call_s) == (
        "hidden_tests/test_a.py::test_one", "passed", 2.0, "A", 0.25)
    assert results.lines_run is None and results.calls_by_test is None and test.fetches is None


def test_a_gate_run_s_traces_are_read_as_typed_fields():
    results = JudgeResults.model_validate(_file(lines_run={"beras/dense.py": [3, 4]},
                                                calls_by_test={"t": ["dense.py::Dense.forward"]}))
    assert results.lines_run == {"beras/dense.py": [3, 4]}
    assert results.calls_by_test == {"t": ["dense.py::Dense.forward"]}


@pytest.mark.parametrize("change", [{"status": "won"}, {"score": -1.0}, {"score": float("nan")}])
def test_a_test_record_out_of_the_contract_is_refused(change):
    bad = _file()
    bad["tests"][0].update(change)
    with pytest.raises(ValidationError):
        JudgeResults.model_validate(bad)
