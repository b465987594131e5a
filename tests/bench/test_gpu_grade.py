"""bench/gpu_grade.py's host runner: as root it refuses, naming why, a python other uids cannot start."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from bench.gpu_grade import HostRun
from worker.sandbox.base import SandboxUnavailable


@pytest.fixture
def open_dir():
    """A folder every user may pass through, on a path every user may pass through (pytest's are 0700)."""
    with tempfile.TemporaryDirectory(prefix="gpucheck-host-") as folder:
        os.chmod(folder, 0o755)
        yield Path(folder)


def _python_in(folder_mode: int, root: Path) -> tuple[Path, Path]:
    private = root / "home"
    (private / "venv" / "bin").mkdir(parents=True)
    python = private / "venv" / "bin" / "python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    private.chmod(folder_mode)
    return private, python


def test_as_root_a_python_in_a_private_folder_is_refused_with_the_folder_named(open_dir, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    private, python = _python_in(0o700, open_dir)
    said = f"cannot start {python}: {private} is closed to other users"
    with pytest.raises(SandboxUnavailable, match=said):
        HostRun(open_dir, str(python)).check()
    HostRun(open_dir, str(python), same_uid=True).check()  # one uid: nothing to pass through
    private.chmod(0o755)
    HostRun(open_dir, str(python)).check()


def test_without_root_there_is_one_uid_and_nothing_to_check(open_dir, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    _, python = _python_in(0o700, open_dir)
    HostRun(open_dir, str(python)).check()


def test_a_wrong_sample_shows_the_end_of_the_judge_log_and_says_when_a_log_is_missing(tmp_path):
    from bench.gpu_grade import LOG_LINES, log_tails

    (tmp_path / "judge.log").write_text("".join(f"line {i}\n" for i in range(100)))
    lines = log_tails(tmp_path)
    assert lines[0] == f"--- judge.log, last {LOG_LINES} lines"
    assert lines[1:LOG_LINES + 1] == [f"line {i}" for i in range(100 - LOG_LINES, 100)]
    assert lines[LOG_LINES + 1:] == [f"--- student.log, last {LOG_LINES} lines", "(no log)"]
