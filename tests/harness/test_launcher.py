"""The sandbox launcher's pause: every student process stops for the judge's timing, and goes on afterwards.

The launcher is driven directly (no sandbox around it), with sleeping processes standing in
for the student's. As root it runs with separate uids and stops every process of the student
uid, a process that left its session included; without root, each student process group.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from grader.authoring.config import Limits
from grader.harness.jobspec import JobSpec
from grader.harness.launcher import Launcher
from tests.harness.test_process import reaches_state

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the launcher needs POSIX signals and uids")

# Below the range worker/grading/job.py draws from, so that no real job's student shares it:
# kill(-1) as this uid reaches every process of the uid on the machine.
STUDENT_UID = 199_917


@pytest.fixture
def launcher(tmp_path: Path) -> Launcher:
    (tmp_path / "job").mkdir()
    table = Limits()
    JobSpec("toy", ("hidden_tests",), seed=1, call_timeout_s=table.call_time_s,
            student_memory_mb=table.memory_mb, pids=table.pids, output_kb=table.output_kb,
            judge_output_mb=table.judge_output_mb, judge_uid=STUDENT_UID - 1,
            student_uid=STUDENT_UID).write(tmp_path / "job")
    return Launcher(tmp_path / "job", tmp_path / "out", tmp_path / "work")


@pytest.fixture
def sleepers(launcher: Launcher):
    """Start sleeping processes as the launcher would start students (own session, the student uid as
    root)."""
    started = []

    def start() -> subprocess.Popen:
        ids = {"user": STUDENT_UID, "group": STUDENT_UID, "extra_groups": []} if launcher.separate else {}
        # /bin/sleep: the student uid may not read this test's Python
        process = subprocess.Popen(["/bin/sleep", "120"], start_new_session=True, cwd="/", **ids)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


def test_pause_stops_every_student_process_until_resume(launcher, sleepers) -> None:
    student = sleepers()
    launcher.students[student.pid] = student
    # Only with its own uid can a student process be found after it left every group the launcher knows.
    escaped = sleepers() if launcher.separate else None
    assert launcher.pause_students(True) == {"ok": True}
    assert reaches_state(student.pid, "T")
    if escaped:
        assert reaches_state(escaped.pid, "T")
    assert launcher.pause_students(False) == {"ok": True}
    assert reaches_state(student.pid, "SR")
    if escaped:
        assert reaches_state(escaped.pid, "SR")


def test_pause_with_no_student_process_is_harmless(launcher) -> None:
    assert launcher.pause_students(True) == {"ok": True}
    assert launcher.pause_students(False) == {"ok": True}
