"""A beras-cnn submission graded with ``--beras-backend cupy`` on the CuPy stand-in scores as on numpy.

The grading is the real one: the local (bubblewrap) sandbox, the launcher, the judge and the student
processes. The only change is the job's ``lib/`` folder (the sandbox's PYTHONPATH), which gets a
copy of the stand-in named ``cupy``, so that both the judge's reference and the student's beras
import it when the harness switches them to the CuPy backend.
"""

from __future__ import annotations

import pytest

from tests.cupy_standin.plug import copy_as_cupy
from tests.grading.conftest import ASSIGNMENTS
from worker.grading import grade as grade_module
from worker.grading.grade import grade_zip
from worker.grading.samples import planted

# The layer suites: every CuPy-relevant path of the judge (reference on the device, values compared
# on the host), without the training and speed tests that would take minutes on either backend.
SUITES = ("hidden_tests/test_conv_layer.py", "hidden_tests/test_pooling.py", "hidden_tests/test_flatten.py",
          "public_tests")


@pytest.fixture
def standin_in_jobs(monkeypatch):
    """Every job prepared in this test carries the stand-in as ``lib/cupy``."""
    prepare = grade_module.prepare_job

    def prepare_with_standin(*args, **kwargs):
        job = prepare(*args, **kwargs)
        copy_as_cupy(job.job_dir / "lib")
        return job

    monkeypatch.setattr(grade_module, "prepare_job", prepare_with_standin)


def _outcome(result) -> dict[str, str]:
    return {test.name: test.status for test in result.tests}


def test_planted_bugs_lose_the_same_tests_on_the_cupy_standin_as_on_numpy(releases, local_sandbox,
                                                                          standin_in_jobs):
    cnn = releases["beras-cnn"]
    sample = planted(cnn, ASSIGNMENTS / "beras-cnn" / "samples" / "planted-bugs.toml")
    on_numpy = grade_zip(cnn, sample.zip_bytes, local_sandbox, seed=11, suites=SUITES, backend="numpy")
    on_cupy = grade_zip(cnn, sample.zip_bytes, local_sandbox, seed=11, suites=SUITES, backend="cupy")
    assert on_numpy.status == on_cupy.status == "graded", (on_cupy.output, on_cupy.problems)
    assert 0 < on_numpy.score < on_numpy.max_score  # the planted bugs cost something, not everything
    assert _outcome(on_cupy) == _outcome(on_numpy)
    assert on_cupy.score == on_numpy.score
