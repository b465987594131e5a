"""The job folder's contract: what the worker prepares, where the launcher finds it, what comes back.

A prepared job is two folders the sandbox sees at fixed paths:

``/job`` (read-only; only the launcher can read it)
    ``job.json``                 this module's ``JobSpec``
    ``judge/<assignment>/``      the assignment: its test folders and ``assignment.toml``
    ``judge/reference/beras/``   the reference library
    ``judge/points.json``        each test id's points, group, visibility (computed by the worker)
    ``judge/deadlines.json``     each test's per-call deadline, and a hung method's
                                 (``deadlines.DeadlineTable``)
    ``judge/test-ids.json``      every test id of the assignment
    ``student/beras/``           the submission: the starter package with the student's files in it
    ``lib/grader/harness/``      this harness (judge and student both import it)

``/out`` (written during the run; nothing of it is trusted before the worker checks it)
    ``results.json``   written by the judge, after every test
    ``judge.log``      the judge's pytest output
    ``student.log``    the student processes' output, capped
    ``launcher.json``  the launcher's report (uids, exits, usage): this module's ``LauncherReport``
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

JOB_FILE = "job.json"
DEADLINES_FILE = "deadlines.json"  # in judge/; optional: without it every call gets call_timeout_s
RESULTS_FILE = "results.json"
LAUNCHER_FILE = "launcher.json"
JUDGE_LOG = "judge.log"
STUDENT_LOG = "student.log"
# The worker refuses a larger results file; the judge keeps its own under it (see results.py).
RESULTS_MAX_BYTES = 4 * 2**20
# The worker reads no larger launcher report (one is a few hundred bytes).
LAUNCHER_MAX_BYTES = 2**20


def judge_pytest_args(rootdir: Path) -> list[str]:
    """The judge's pytest options, shared by the sandbox's launcher and the release gate's runs.

    Both harness plugins; no config file, cache or assertion rewriting (failures never print
    hidden values); one-line tracebacks.
    """
    return ["-p", "grader.harness.plugin", "-p", "grader.harness.results",
            "-c", os.devnull, "--rootdir", str(rootdir), "-p", "no:cacheprovider",
            "--assert=plain", "-q", "--tb=line", "-o", "console_output_style=classic"]


@dataclass(frozen=True)
class JobSpec:
    """What the launcher needs to run one grading job.

    The limits come from the assignment's ``[limits]`` table (``grader.authoring.config.Limits``), which the
    worker reads; the harness runs in the sandbox and cannot import it, so it has them from here, and
    holds no default of its own.

    Attributes:
        assignment: the assignment's name (its folder under ``judge/``).
        suites: the test folders to run, relative to the assignment folder.
        seed: the run's seed.
        call_timeout_s: the most any call into student code may take (``judge/deadlines.json`` sets each
            test's own deadline within it).
        student_memory_mb: address-space limit of each student process; None on the CuPy backend, whose
            CUDA context reserves far more address space than it uses (the sandbox's cgroup limits memory).
        pids: most processes the student uid may have at once.
        output_kb: most student output kept; the rest is counted and dropped.
        judge_output_mb: largest file the judge may write (its log included).
        separate_uids: run judge and student under the two uids below (needs root in the sandbox).
        judge_uid: the judge's uid and gid.
        student_uid: the student's uid and gid.
        beras_backend: ``numpy`` or ``cupy``.
    """

    assignment: str
    suites: tuple[str, ...]
    seed: int
    call_timeout_s: float
    student_memory_mb: int | None
    pids: int
    output_kb: int
    judge_output_mb: int
    separate_uids: bool = True
    judge_uid: int = 61000
    student_uid: int = 61001
    beras_backend: str = "numpy"
    extra_pytest_args: tuple[str, ...] = field(default=())

    def write(self, job_dir: Path) -> None:
        (Path(job_dir) / JOB_FILE).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, job_dir: Path) -> JobSpec:
        data = json.loads((Path(job_dir) / JOB_FILE).read_text())
        data["suites"] = tuple(data["suites"])
        data["extra_pytest_args"] = tuple(data.get("extra_pytest_args", ()))
        return cls(**data)


@dataclass
class LauncherReport:
    """What the launcher reports of one run (``launcher.json``): uids, student processes, usage.

    The launcher fills it as the run goes and writes it when the judge has ended; the worker reads it
    back, trusting nothing of it it does not check. None: not reported (an older launcher writes fewer
    keys; the cgroup's figures are None where the sandbox cannot read them).

    Attributes:
        separate_uids: judge and student ran under separate uids.
        students_started: student processes started.
        student_exits: how each student process ended (``limits.describe_student_exit``).
        student_output_bytes: bytes the student processes wrote.
        student_output_dropped: of them, bytes beyond the cap (not in ``student.log``).
        max_rss_kb: the largest resident set of a process the launcher reaped.
        cpu_s: CPU seconds of the processes the launcher reaped.
        why_not_separate: why judge and student shared one uid though the job asked for two; written
            only then.
        judge_exit: the judge's exit code (negative: the signal that ended it).
        judge_ended: how the judge ended, in words (``limits.describe_exit``).
        phases: the launcher's phases, in seconds (``prepare_s``, ``start_s``, ``run_s``).
        environment: the Python and library versions in the sandbox (``launcher.environment``).
        cgroup_peak_memory_bytes: the sandbox cgroup's peak memory.
        cgroup_cpu_s: the sandbox cgroup's CPU seconds.
        cgroup_limits: the limits the sandbox cgroup holds (``memory_mb``, ``cpus``, ``pids``), those
            it could read.
    """

    separate_uids: bool | None = None
    students_started: int | None = None
    student_exits: list[str] | None = None
    student_output_bytes: int | None = None
    student_output_dropped: int | None = None
    max_rss_kb: int | None = None
    cpu_s: float | None = None
    why_not_separate: str | None = None
    judge_exit: int | None = None
    judge_ended: str | None = None
    phases: dict[str, float] | None = None
    environment: dict[str, str | None] | None = None
    cgroup_peak_memory_bytes: int | None = None
    cgroup_cpu_s: float | None = None
    cgroup_limits: dict[str, float] | None = None

    def write(self, out_dir: Path) -> None:
        data = asdict(self)
        if data["why_not_separate"] is None:
            del data["why_not_separate"]
        (Path(out_dir) / LAUNCHER_FILE).write_text(json.dumps(data, indent=1))

    @classmethod
    def read(cls, out_dir: Path) -> LauncherReport | None:
        """The report in ``out_dir``; None where there is none to read (absent, too large, not a JSON
        object, or an empty one). Keys it does not know are ignored; those it lacks are None."""
        path = Path(out_dir) / LAUNCHER_FILE
        try:
            if path.stat().st_size > LAUNCHER_MAX_BYTES:
                return None
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not data:
            return None
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
