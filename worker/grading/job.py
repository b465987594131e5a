"""The job folder: everything one sandbox run needs, laid out as ``grader.harness.jobspec`` describes."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from grader.authoring.released import Released
from grader.harness.deadlines import DeadlineRule
from grader.harness.jobspec import DEADLINES_FILE, JobSpec
from grader.harness.results import write_points
from grader.intake import Intake, write_submission

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
_STUB_RAISE = re.compile(r'raise NotImplementedError\("([^"\\]*)"\)')
# uids for judge and student are drawn per job from a range no system account uses, so two jobs on one
# machine never share a uid (RLIMIT_NPROC counts per uid) and a leftover process of one job owns nothing
# of the next.
_UID_LOW, _UID_HIGH = 200_000, 2**30


@dataclass(frozen=True)
class PreparedJob:
    """A job folder ready for a sandbox: ``job_dir`` (read-only in the sandbox) and ``out_dir`` (written)."""

    job_dir: Path
    out_dir: Path
    spec: JobSpec


def missing_stub(stub: str, path: str) -> str:
    """The starter's stub of a file the submission lacked, each ``NotImplementedError`` saying so."""
    return _STUB_RAISE.sub(
        lambda m: f'raise NotImplementedError("{m.group(1)}: {path} was missing from your submission")', stub)


def harness_files() -> dict[str, str]:
    """The harness modules judge and student import inside the sandbox, by their path under ``lib/``."""
    package = resources.files("grader.harness")
    files = {"grader/__init__.py": '"""Beras Grader: the harness part, inside a sandbox."""\n'}
    for entry in package.iterdir():
        if entry.name.endswith(".py"):
            files[f"grader/harness/{entry.name}"] = entry.read_text()
    return files


def deadline_rule(released: Released) -> DeadlineRule:
    """What the judge derives each call's deadline from: the release's reference times and ``[limits]``."""
    limits = released.assignment.limits
    return DeadlineRule(factor=limits.call_time_factor, floor_s=limits.call_time_floor_s,
                        repeat_floor_s=limits.call_time_repeat_floor_s,
                        reference_s=dict(released.reference_times))


def student_address_space(memory_mb: int, backend: str) -> int | None:
    """The address-space rlimit of student processes: the table's memory, except on CuPy.

    A CUDA context maps tens of GiB of virtual address space it never touches, so an address-space
    cap of a few GiB stops CuPy from starting at all; on the GPU backend the sandbox's cgroup (RAM,
    swap and tmpfs together) is what confines memory.
    """
    return None if backend == "cupy" else memory_mb


def prepare_job(released: Released, intake: Intake, root: Path, *, seed: int, backend: str = "numpy",
                suites: tuple[str, ...] | None = None, call_timeout_s: float | None = None) -> PreparedJob:
    """Write the job folder for grading ``intake`` against ``released`` under ``root`` (it must be empty)."""
    job, out = root / "job", root / "out"
    job.mkdir(parents=True)
    out.mkdir()
    judge = job / "judge"
    shutil.copytree(released.assignment_dir, judge / released.name, ignore=_IGNORED)
    shutil.copytree(released.reference, judge / "reference" / "beras", ignore=_IGNORED)
    (judge / "test-ids.json").write_text(json.dumps(list(released.test_ids)))
    write_points(released.points, judge / "points.json")

    package = job / "student" / intake.package
    shutil.copytree(released.starter, package, ignore=_IGNORED)
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        write_submission(intake, Path(scratch) / "submission")  # the checked writer: nothing lands outside
        shutil.copytree(Path(scratch) / "submission" / intake.package, package, dirs_exist_ok=True)
    for rel in intake.missing:
        stub = package / rel
        if stub.is_file():
            stub.write_text(missing_stub(stub.read_text(), f"{intake.package}/{rel}"))

    for rel, text in harness_files().items():
        target = job / "lib" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    limits = released.assignment.limits
    deadline_rule(released).write(judge / DEADLINES_FILE)
    judge_uid = _UID_LOW + 2 * secrets.randbelow((_UID_HIGH - _UID_LOW) // 2)
    spec = JobSpec(
        assignment=released.name,
        suites=suites or (released.assignment.tests.public, released.assignment.tests.hidden),
        seed=seed, call_timeout_s=call_timeout_s or limits.call_time_s,
        student_memory_mb=student_address_space(limits.memory_mb, backend),
        pids=limits.pids, output_kb=limits.output_kb, judge_output_mb=limits.judge_output_mb,
        judge_uid=judge_uid, student_uid=judge_uid + 1, beras_backend=backend,
    )
    spec.write(job)
    return PreparedJob(job, out, spec)

