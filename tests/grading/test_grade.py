"""grade_zip end to end on both sandboxes: samples score as planted, missing files, refusals, wall clock."""

from __future__ import annotations

import dataclasses

import pytest

from grader.authoring.config import Limits
from tests.grading.conftest import NAMES, submission
from worker.grading.grade import grade_zip
from worker.grading.samples import lost_groups, samples
from worker.sandbox import SandboxLimits


@pytest.mark.parametrize("name", NAMES)
def test_samples_score_as_planted(releases, sandbox, name):
    released = releases[name]
    for sample in samples(released):
        result = grade_zip(released, sample.zip_bytes, sandbox, seed=7)
        assert result.status == "graded", result.output
        assert result.complete and result.integrity.tamper_proof
        assert result.sandbox.backend == sandbox.name
        assert len(result.tests) == len(released.test_ids)
        if sample.name == "reference":
            assert result.score == pytest.approx(result.max_score) == pytest.approx(
                sum(entry.points for entry in released.points.values()))
        elif sample.name == "starter":
            assert result.score == 0.0
        else:
            assert sorted(lost_groups(result)) == sorted(sample.losing_groups), sample.name
            assert 0 < result.score < result.max_score


def test_result_has_gradescope_and_own_fields(mlp, sandbox):
    result = grade_zip(mlp, submission(mlp), sandbox, seed=3, suites=("public_tests",))
    for key in ("score", "max_score", "execution_time", "output", "visibility", "tests", "seed", "integrity",
                "sandbox", "resources", "phases", "status"):
        assert key in result.to_json()  # results.json: Gradescope's names, and ours
    test = result.to_json()["tests"][0]
    for key in ("name", "number", "score", "max_score", "status", "output", "visibility", "tags"):
        assert key in test
    assert result.seed == 3 and result.resources.wall_s > 0
    assert result.resources.peak_memory_mb and result.resources.peak_memory_mb > 10
    assert {"intake_s", "prepare_s", "run_s", "collect_s"} <= result.phases.keys()


def test_missing_file_fails_only_its_tests_and_says_so(mlp, local_sandbox):
    result = grade_zip(mlp, submission(mlp, drop=("beras/onehot.py",)), local_sandbox, seed=2)
    assert result.status == "graded"
    assert result.submission.missing == ("beras/onehot.py",)
    lost = lost_groups(result)
    assert "Accuracy and one-hot encoding" in lost and "Dense layer" not in lost and "Losses" not in lost
    failed = [t for t in result.tests if t.outcome != "passed"]
    assert failed and all("beras/onehot.py was missing from your submission" in t.output for t in failed
                          if "OneHotEncoder" in t.output)
    assert "beras/onehot.py" in result.output


def test_non_zip_is_rejected_with_a_clear_message(mlp, local_sandbox):
    result = grade_zip(mlp, b"this is not a zip", local_sandbox)
    assert result.status == "rejected"
    assert "not a zip archive" in result.output and result.tests == ()


def test_zip_without_owned_files_is_rejected(mlp, local_sandbox):
    from tests.grading.conftest import build_zip

    result = grade_zip(mlp, build_zip({"notes.txt": "hello"}), local_sandbox)
    assert result.status == "rejected"
    assert "beras/" in result.output


def test_wall_clock_keeps_finished_tests_and_names_the_limit(mlp, sandbox):
    slow = ("import time\n_orig = Softmax.forward\ndef _slow(self, x):\n    time.sleep(3600)\n"
            "Softmax.forward = _slow\n")
    result = grade_zip(mlp, submission(mlp, append={"beras/activations.py": slow}), sandbox, seed=1,
                       suites=("hidden_tests/test_activations.py",), call_timeout_s=300,
                       limits=dataclasses.replace(SandboxLimits.from_table(Limits()), wall_s=8))
    assert result.status == "graded" and not result.complete
    outcomes = {t.outcome for t in result.tests}
    assert "passed" in outcomes  # tests finished before the stuck one keep their points
    stuck = [t for t in result.tests if t.outcome == "timeout"]
    assert stuck and all("wall-clock limit of 8 s" in t.output for t in stuck)
    assert 0 < result.score < result.max_score
