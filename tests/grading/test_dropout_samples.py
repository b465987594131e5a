"""beras-dropout's samples graded as students' zips: the missing 1/(1-rate) scale and the other planted bugs
cost exactly their groups.

On the local sandbox only: the two other assignments' samples already run the same grading path on
both backends (tests/grading/test_grade.py); what this adds is the dropout suite's own behaviour.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.authoring.release import stage_autograder
from grader.authoring.released import Released, load_released
from worker.grading.grade import grade_zip
from worker.grading.samples import lost_groups, samples

ROOT = Path(__file__).resolve().parents[2]
SCALE_GROUPS = {"Forward in training: the rate of zeros and the 1/(1-rate) scale",
                "Gradient through the mask",
                "Gradients through a GradientTape: Dense, Dropout, MSE", "Sanity checks (public tests)"}

SCALE_TESTS = ("test_training_scales_kept_inputs", "::test_compose_input_gradients", "::test_local_gradient",
               "test_tape_through_dense_dropout_mse")


@pytest.fixture(scope="module")
def dropout(tmp_path_factory: pytest.TempPathFactory) -> Released:
    out = tmp_path_factory.mktemp("dropout-release")
    return load_released(stage_autograder(ROOT / "assignments" / "beras-dropout", out,
                                          reference_package=ROOT / "reference" / "beras"))


def test_dropout_samples_score_as_planted(dropout: Released, local_sandbox) -> None:
    graded = {}
    for sample in samples(dropout):
        result = grade_zip(dropout, sample.zip_bytes, local_sandbox, seed=7)
        assert result.status == "graded", result.output
        assert len(result.tests) == len(dropout.test_ids)
        graded[sample.name] = result
        if sample.name == "reference":
            assert result.score == pytest.approx(result.max_score) == pytest.approx(100.0)
        elif sample.name == "starter":
            assert result.score == 0.0
        else:
            assert sorted(lost_groups(result)) == sorted(sample.losing_groups), sample.name
    # the scale every student forgets costs every group that judges a value, and only those
    assert set(lost_groups(graded["missing-scale"])) == SCALE_GROUPS
    # ... and every test that compares a value in training with the scale: none reads it off the
    # student's output
    scaled = [test for test in graded["missing-scale"].tests
              if any(part in test.name for part in SCALE_TESTS)]
    assert len(scaled) == 6 + 6 + 3 + 2 and not [test.name for test in scaled if test.score > 0]
