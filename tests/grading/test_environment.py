"""One grading environment on every backend: the same zip, the same per-test outcomes and score, the same
versions.

Two submissions pin the numpy the sandbox runs: one calls ``np.product`` (removed in numpy 2)
and one ``np.concat`` (added in numpy 2), each in ``CategoricalAccuracy.forward``, which six
tests of the metrics suite call. Graded on ``local`` and on ``docker``, each gives the same
outcome for every test; before the environment was one, the two backends ran numpy 2.4 and
1.24 and disagreed on exactly these tests.
"""

from __future__ import annotations

import pytest

from grader import environment
from grader.result import GradeResult
from tests.grading.conftest import _sandbox, grade_json, submission
from tests.grading.test_adversarial import ACCURACY_RETURN, METRICS, replace_line
from worker.grading.report import format_table
from worker.sandbox import SandboxUnavailable
from worker.sandbox.local import LocalSandbox

SEED = 20251205
ACCURACY_TESTS = "::test_accuracy"  # the metrics suite's tests of CategoricalAccuracy: test_accuracy*
# The same value as the reference's ``hits.mean()``, through an API only one numpy major has.
REMOVED_IN_NUMPY_2 = "        return hits.sum() / np.product(hits.shape)\n"
ADDED_IN_NUMPY_2 = "        return np.concat([hits.reshape(-1)]).mean()\n"
NUMPY = "import numpy as np\n"


@pytest.fixture(scope="module")
def backends():
    return {name: _sandbox(name) for name in ("local", "docker")}


def _graded(mlp, backends, zip_bytes: bytes) -> dict[str, dict]:
    results = {}
    for name, sandbox in backends.items():
        result = grade_json(mlp, zip_bytes, sandbox, seed=SEED, suites=(METRICS,))
        assert result["status"] == "graded" and result["complete"], (name, result["output"],
                                                                     result["problems"])
        results[name] = result
    return results


def _outcomes(result: dict) -> dict[str, tuple[str, float]]:
    return {test["name"]: (test["outcome"], test["score"]) for test in result["tests"]}


def _assert_same_everywhere(results: dict[str, dict]) -> None:
    local, docker = results["local"], results["docker"]
    assert _outcomes(local) == _outcomes(docker)
    assert local["score"] == docker["score"] and local["max_score"] == docker["max_score"]
    for name, result in results.items():
        assert result["environment"] == {**environment.expected(), "backend": name}


def _accuracy(result: dict) -> dict[str, tuple[str, float]]:
    accuracy = {name: seen for name, seen in _outcomes(result).items() if ACCURACY_TESTS in name}
    assert len(accuracy) >= 3, "the metrics suite's accuracy tests were renamed: update ACCURACY_TESTS"
    return accuracy


def test_a_call_numpy_2_removed_fails_the_same_tests_on_every_backend(mlp, backends):
    results = _graded(mlp, backends, submission(mlp, replace=replace_line(
        "metrics.py", ACCURACY_RETURN, REMOVED_IN_NUMPY_2, NUMPY)))
    _assert_same_everywhere(results)
    for result in results.values():
        accuracy = _accuracy(result)
        assert {outcome for outcome, _ in accuracy.values()} == {"failed"}
        assert result["score"] < result["max_score"]
        assert result["score"] == pytest.approx(result["max_score"] - sum(
            t["max_score"] for t in result["tests"] if t["name"] in accuracy))
        failed = next(t for t in result["tests"] if t["name"] in accuracy)
        assert "product" in failed["output"]  # numpy's own AttributeError reaches the student


def test_a_call_only_numpy_2_has_passes_on_every_backend(mlp, backends):
    results = _graded(mlp, backends, submission(mlp, replace=replace_line(
        "metrics.py", ACCURACY_RETURN, ADDED_IN_NUMPY_2, NUMPY)))
    _assert_same_everywhere(results)
    for result in results.values():
        assert {outcome for outcome, _ in _accuracy(result).values()} == {"passed"}
        assert result["score"] == pytest.approx(result["max_score"])


def test_the_result_and_its_table_record_the_environment(mlp, backends):
    result = grade_json(mlp, submission(mlp), backends["local"], seed=SEED, suites=(METRICS,))
    recorded = result["environment"]
    assert recorded == {"backend": "local", "image": environment.image_tag(), "python": environment.PYTHON,
                        "numpy": environment.WHEELS["numpy"], "pytest": environment.WHEELS["pytest"]}
    assert (f"Environment: Python {environment.PYTHON}, numpy {environment.WHEELS['numpy']}, pytest "
            f"{environment.WHEELS['pytest']} (image {environment.image_tag()}, "
            "backend local)") in format_table(GradeResult.from_json(result))


def test_the_local_backend_refuses_without_the_environments_root_file_system(tmp_path, backends):
    sandbox = LocalSandbox(backends["local"].bwrap, rootfs_base=tmp_path)
    with pytest.raises(SandboxUnavailable) as refused:
        sandbox.check()
    message = str(refused.value)
    assert environment.image_tag() in message and "beras-grader image build" in message
    assert str(tmp_path / environment.digest() / "rootfs") in message
