"""beras-cnn graded with ``--beras-backend cupy`` on the CuPy stand-in loses what it loses on numpy.

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
from worker.grading.samples import lost_groups, planted

pytestmark = pytest.mark.grading


@pytest.fixture
def standin_in_jobs(monkeypatch):
    """Every job prepared in this test carries the stand-in as ``lib/cupy``."""
    prepare = grade_module.prepare_job

    def prepare_with_standin(*args, **kwargs):
        job = prepare(*args, **kwargs)
        copy_as_cupy(job.job_dir / "lib")
        return job

    monkeypatch.setattr(grade_module, "prepare_job", prepare_with_standin)


def test_planted_bugs_lose_exactly_their_groups_on_the_cupy_standin(releases, local_sandbox, standin_in_jobs):
    """The release gate grades this sample on numpy and requires it to lose exactly the planted groups;
    on the stand-in, through every hidden test (the digits CNN included), it must lose the same.

    Without the stand-in in the job, ``--beras-backend cupy`` fails every test (no CuPy in the sandbox):
    a pass here means both the judge's reference and the student's beras ran on it.
    """
    cnn = releases["beras-cnn"]
    sample = planted(cnn, ASSIGNMENTS / "beras-cnn" / "samples" / "planted-bugs.toml")
    result = grade_zip(cnn, sample.zip_bytes, local_sandbox, seed=11, backend="cupy")
    assert result.status == "graded" and result.complete, (result.output, result.problems)
    assert 0 < result.score < result.max_score
    assert sorted(lost_groups(result)) == sorted(sample.losing_groups)
