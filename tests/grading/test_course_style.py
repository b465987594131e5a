"""Course-style submissions lose points only in the groups of what they lack, whatever correct form they use.

``data/course_style/<name>/beras/`` hold beras-mlp submissions written the way the course's own
homework is (``shared/`` holds the file both write alike; every other owned file is the reference's): no
Tanh, BinaryCrossEntropy or SGD (they raise NotImplementedError), Dense's weight
gradient as the per-example Jacobian or as ``x``, a ``(1, out)`` bias gradient, a full Jacobian
from Sigmoid, and losses that return the label gradient (or leave it out). None of those forms is
a bug; the missing classes and the non-zero label gradient must cost their own groups and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.grading.conftest import submission
from worker.grading.grade import grade_zip
from worker.grading.samples import lost_groups

DATA = Path(__file__).parent / "data" / "course_style"
MISSING = ["Activations: Tanh", "Losses: binary cross-entropy", "Optimizers: SGD with momentum"]
# (submission, the groups it must lose, and nothing else)
CASES = {
    "course_a": MISSING + ["Losses: the label gradient is zero"],  # returns dL/dy_true, not zeros
    "course_b": MISSING + ["Losses: the label gradient is zero"],  # returns [dL/dy_pred] alone
}


def _files(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): path.read_text() for path in sorted(folder.rglob("*.py"))}


def _zip(released, name: str) -> bytes:
    """The reference's owned files, with the shared course-style file and this submission's own in their
    place."""
    return submission(released, replace={**_files(DATA / "shared"), **_files(DATA / name)})


@pytest.mark.parametrize("name", sorted(CASES))
def test_course_style_submission_loses_only_what_it_lacks(mlp, local_sandbox, name):
    result = grade_zip(mlp, _zip(mlp, name), local_sandbox, seed=11)
    assert result.status == "graded", result.output
    failed = {t.name: t.output[:300] for t in result.tests if t.score < t.max_score}
    assert sorted(lost_groups(result)) == sorted(CASES[name]), failed
    lost_points = result.max_score - result.score
    assert lost_points <= 7.0 + 1e-9, f"{name} lost {lost_points} points: {failed}"
