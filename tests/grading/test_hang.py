"""A hang costs what a crash costs: the same bug as an infinite loop and as an exception, graded side by side.

Each case is the reference solution of beras-mlp with one bug, written twice: once as a loop that
never ends, once as a raise at the same place. Both are graded in a real sandbox with the
assignment's own limits (``call_time_s`` 60) and the per-call deadlines the release's reference
times give (measured here as the release gate measures them: the reference run over the same
suites, in process). The two results must agree test for test, and the hang may take at most one
``call_time_s`` longer than the crash.

The bugs: ``Softmax.forward`` that never returns (every test that reaches a softmax), and a
course-style gradient tape whose walk never ends when one layer is used twice (only
``test_layer_used_twice``: its other calls must still return).
"""

from __future__ import annotations

import dataclasses

import pytest

from grader.authoring.gate import reference_times
from grader.authoring.released import Released
from grader.authoring.suite import run_suite
from grader.harness.results import write_points
from tests.grading.conftest import grade_json, submission
from tests.grading.test_adversarial import _assert_no_stray_processes, _Watched, inject, short
from worker.sandbox import Sandbox

SOFTMAX_SUITES = ("public_tests", "hidden_tests/test_activations.py", "hidden_tests/test_gradient_tape.py",
                  "hidden_tests/test_model.py")
TAPE_SUITES = ("hidden_tests/test_gradient_tape.py", "hidden_tests/test_model.py")
SEED = 20241205

SOFTMAX_BODY = ("activations.py", "        shifted = xp.exp(x - x.max(axis=-1, keepdims=True))\n")
TAPE_WALK = ("gradient_tape.py", "        live = self._depends_on(sources)\n")
# A course-style walk over the records that handles a layer seen before "with its first use": the
# index is not advanced for it, so a layer used twice makes the walk spin (or, in the other version,
# raise). A tape without a repeated layer walks straight through.
TAPE_BUG = """
walked, index = set(), len(self.records) - 1
while index >= 0:
    layer_id = id(self.records[index].layer)
    if layer_id in walked:
        {on_repeat}
    walked.add(layer_id)
    index -= 1
"""


@pytest.fixture(scope="module")
def timed(mlp: Released, tmp_path_factory: pytest.TempPathFactory) -> Released:
    """beras-mlp with each test's reference time, measured as the release gate does (in process, the
    reference submitted as a student would), over every suite used here."""
    suites = sorted(set(SOFTMAX_SUITES) | set(TAPE_SUITES))
    points_file = tmp_path_factory.mktemp("points") / "points.json"
    write_points(mlp.points, points_file)
    run = run_suite(mlp.assignment_dir, suites, mlp.reference.parent, reference=mlp.reference.parent,
                    seed=SEED, timeout_s=mlp.assignment.limits.wall_time_s, points=points_file)
    assert run.problem is None and run.score == run.max_score, run.problem or run.log_tail
    times = reference_times(run)
    assert len(times) == len(run.tests())
    return dataclasses.replace(mlp, reference_times=times)


def grade_both(released: Released, sandbox: Sandbox, anchor: tuple[str, str], hang: str, crash: str,
               suites: tuple[str, ...]) -> tuple[dict, dict]:
    """The crash version and the hang version of one bug, graded with the assignment's own limits."""
    results = []
    for code in (crash, hang):
        watched = _Watched(sandbox)
        results.append(grade_json(released, submission(released, replace=inject(anchor, code)), watched,
                                  seed=SEED, suites=suites))
        _assert_no_stray_processes(watched.uids)
    for result in results:
        assert result["status"] == "graded" and result["complete"] is True, result["output"]
    return results[0], results[1]


def assert_costs_the_same(crashed: dict, hung: dict, call_time_s: float) -> list[dict]:
    """Test for test the same status and score; the hang at most one call_time_s slower. Returns the hung
    tests."""
    assert [t["name"] for t in hung["tests"]] == [t["name"] for t in crashed["tests"]]
    differ = {short(h): (c["status"], c["score"], h["status"], h["score"], h["output"][:300])
              for c, h in zip(crashed["tests"], hung["tests"])
              if (c["status"], c["score"]) != (h["status"], h["score"])}
    assert not differ, differ
    assert hung["score"] == pytest.approx(crashed["score"])
    assert hung["execution_time"] <= crashed["execution_time"] + call_time_s, (
        hung["execution_time"], crashed["execution_time"])
    timed_out = [t for t in hung["tests"] if t["outcome"] == "timeout"]
    assert timed_out and all(t["status"] == "failed" and t["score"] == 0 for t in timed_out)
    assert {t["name"] for t in timed_out} == {t["name"] for t in crashed["tests"] if t["status"] == "failed"}
    return timed_out


def test_softmax_forward_that_never_returns_costs_what_its_raise_costs(timed, sandbox):
    crashed, hung = grade_both(timed, sandbox, SOFTMAX_BODY, hang="while True:\n    pass\n",
                               crash='raise RuntimeError("this softmax is not written yet")\n',
                               suites=SOFTMAX_SUITES)
    # the bug costs something: the test compares a real loss
    assert crashed["score"] < crashed["max_score"] * 0.9
    timed_out = assert_costs_the_same(crashed, hung, timed.assignment.limits.call_time_s)
    # Each method's first hang is paid with its own test's deadline; later calls of it fail fast, saying why.
    repeats = [t for t in timed_out if "earlier in this run" in t["output"]]
    assert len(repeats) >= len(timed_out) // 2, [t["output"] for t in timed_out]
    first = next(t for t in timed_out if "Softmax()(" in t["output"])
    assert "did not finish within" in first["output"]
    assert any("Softmax.__call__ did not finish within" in t["output"] for t in repeats)


def test_a_tape_that_spins_on_a_layer_used_twice_costs_what_its_raise_costs(timed, sandbox):
    crashed, hung = grade_both(timed, sandbox, TAPE_WALK, hang=TAPE_BUG.format(on_repeat="continue"),
                               crash=TAPE_BUG.format(on_repeat='raise ValueError("a layer used twice")'),
                               suites=TAPE_SUITES)
    failed = [short(t) for t in crashed["tests"] if t["status"] == "failed"]
    assert failed == ["test_layer_used_twice"], failed  # every other tape still works
    timed_out = assert_costs_the_same(crashed, hung, timed.assignment.limits.call_time_s)
    assert [short(t) for t in timed_out] == ["test_layer_used_twice"]
    assert "GradientTape(" in timed_out[0]["output"] and ".gradient(" in timed_out[0]["output"]
