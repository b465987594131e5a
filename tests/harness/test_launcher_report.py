"""The launcher's report (``launcher.json``) as the job folder's contract types it: written, read back."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from grader.harness.jobspec import LAUNCHER_FILE, LauncherReport


def _report(**changes) -> LauncherReport:
    values = dict(separate_uids=True, students_started=2, student_exits=["exited with code 0", "killed"],
                  student_output_bytes=120, student_output_dropped=0, max_rss_kb=51200, cpu_s=1.25,
                  judge_exit=0, judge_ended="exited with code 0", phases={"prepare_s": 0.1, "run_s": 2.0},
                  environment={"python": "3.11.7", "numpy": "1.26.4", "pytest": None},
                  cgroup_peak_memory_bytes=None, cgroup_cpu_s=1.5, cgroup_limits={"pids": 64})
    values.update(changes)
    return LauncherReport(**values)


def test_a_written_report_reads_back_the_same(tmp_path: Path) -> None:
    for report in (_report(), _report(separate_uids=False, why_not_separate="the launcher is not root")):
        report.write(tmp_path)
        assert LauncherReport.read(tmp_path) == report


def test_why_not_separate_is_written_only_when_there_is_a_why(tmp_path: Path) -> None:
    _report().write(tmp_path)
    data = json.loads((tmp_path / LAUNCHER_FILE).read_text())
    assert "why_not_separate" not in data
    assert data["cgroup_peak_memory_bytes"] is None  # a figure the sandbox could not read is still written
    assert list(data)[:3] == ["separate_uids", "students_started", "student_exits"]


def test_a_missing_key_reads_as_none_and_an_unknown_one_is_ignored(tmp_path: Path) -> None:
    data = asdict(_report())
    del data["cgroup_cpu_s"]
    data["added_by_a_newer_image"] = 1
    (tmp_path / LAUNCHER_FILE).write_text(json.dumps(data))
    assert LauncherReport.read(tmp_path) == _report(cgroup_cpu_s=None)


def test_no_readable_report_reads_as_none(tmp_path: Path) -> None:
    assert LauncherReport.read(tmp_path) is None  # absent: the sandbox was killed before the launcher wrote
    for text in ("{not json", "[1, 2]", "{}", "\xff"):
        (tmp_path / LAUNCHER_FILE).write_text(text, encoding="latin-1")
        assert LauncherReport.read(tmp_path) is None, text
