"""The sandbox contract: run a prepared job folder under limits; give back exit, outputs, usage, timing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.authoring.config import Limits

# The capabilities the launcher keeps: switching to the two uids (SETUID, SETGID), giving each its
# files (CHOWN, FOWNER, DAC_OVERRIDE: the job folder belongs to the worker's uid) and stopping
# student processes that run under another uid (KILL). Everything else is dropped.
LAUNCHER_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "KILL")
LAUNCHER_COMMAND = ("-m", "grader.harness.launcher", "--job", "/job", "--out", "/out", "--work", "/work")
# The interpreter every backend starts: the grading environment's python3 (``grader.environment``).
SANDBOX_PYTHON = "/usr/bin/python3"


class SandboxUnavailable(Exception):
    """This backend cannot run here (no daemon, no image, no bubblewrap); the message says what to do."""


class GpuUnavailable(Exception):
    """A job asked for a GPU and this machine cannot give its sandbox one; the message says why.

    Not a ``SandboxUnavailable``: the sandbox works, the machine lacks a GPU, so the job is handed to another
    worker instead of being retried here.
    """


@dataclass(frozen=True)
class SandboxLimits:
    """The resources of one grading run: values only, taken from the limits table (``from_table``).

    Attributes:
        wall_s: wall-clock limit, enforced from outside: the sandbox is killed when it is reached.
        memory_mb: the student's share of memory (RAM and swap together).
        cpus: CPU quota of the whole sandbox, in cores.
        pids: the student's share of processes.
        judge_memory_mb: memory the sandbox holds on top of ``memory_mb`` for the judge and the launcher.
        judge_pids: processes the sandbox holds on top of ``pids`` for the judge and the launcher.
        tmpfs_mb: size of the writable work folder (``/work``).
        tmp_tmpfs_mb: size of ``/tmp``.
        log_kb: most of the launcher's own output kept.
        gpu: give the sandbox one GPU (the queue decides, not the table).
    """

    wall_s: float
    memory_mb: int
    cpus: float
    pids: int
    judge_memory_mb: int
    judge_pids: int
    tmpfs_mb: int
    tmp_tmpfs_mb: int
    log_kb: int
    gpu: bool = False

    @classmethod
    def from_table(cls, table: Limits, gpu: bool = False) -> SandboxLimits:
        """The sandbox's part of an assignment's ``[limits]`` table."""
        return cls(wall_s=table.wall_time_s, memory_mb=table.memory_mb, cpus=table.cpus, pids=table.pids,
                   judge_memory_mb=table.judge_memory_mb, judge_pids=table.judge_pids,
                   tmpfs_mb=table.work_tmpfs_mb, tmp_tmpfs_mb=table.tmp_tmpfs_mb, log_kb=table.sandbox_log_kb,
                   gpu=gpu)

    @property
    def sandbox_memory_mb(self) -> int:
        """The whole sandbox's memory (and memory + swap) limit: the student's share and the judge's."""
        return self.memory_mb + self.judge_memory_mb

    @property
    def sandbox_pids(self) -> int:
        """The whole sandbox's process limit: the student uid's share and the judge's."""
        return self.pids + self.judge_pids


class Guarantee(str, Enum):
    """What a sandbox promises about a run; a run names those this machine could not give.

    The missing ones are in ``SandboxRun.missing``, each with why.
    """

    SEPARATE_UIDS = "separate_uids"  # judge and student under different uids: the run is tamper-proof
    JOB_MEMORY_LIMIT = "job_memory_limit"  # RAM + swap of the whole job, its tmpfs included
    JOB_CPU_LIMIT = "job_cpu_limit"  # a CPU quota of ``cpus`` cores for the whole job
    JOB_PIDS_LIMIT = "job_pids_limit"  # processes of the whole job
    SYSCALL_FILTER = "syscall_filter"  # no namespaces, keyrings, file locks, mounts, bpf... inside
    OWN_KEYRING = "own_keyring"  # a session keyring of its own, not the worker's


@dataclass
class Usage:
    """What the run used: peak memory (MB), CPU seconds, wall seconds.

    Peak memory and CPU seconds are the job's own, read from its cgroup (never a figure of the whole worker
    process, which would count other jobs in flight); None where the backend has no job cgroup to read.
    """

    peak_memory_mb: float | None = None
    cpu_s: float | None = None
    wall_s: float = 0.0


@dataclass
class SandboxRun:
    """What one run gave back.

    Attributes:
        backend: the backend's name.
        exit_code: the launcher's exit status (None when it was killed from outside).
        timed_out: the wall-clock limit was reached and the sandbox killed.
        out_dir: the folder the run wrote (results, logs, the launcher's report).
        log: the tail of the launcher's own output (for the TA, never for the student).
        usage: resources used.
        phases: seconds spent preparing, starting, running and collecting.
        tamper_proof: judge and student ran under separate uids in an isolated sandbox.
        integrity_note: why the run is not tamper-proof, when it is not.
        oom_killed: the sandbox's memory limit was hit (the kernel killed a process of it).
        missing: the guarantees this machine could not give, each with why (empty: fully confined).
        limits_applied: the limits the kernel held for the run, read back (``memory_mb``, ``cpus``,
            ``pids``); empty where the backend cannot read them.
        image: the tag of the environment (root file system) the run used.
    """

    backend: str
    exit_code: int | None
    timed_out: bool
    out_dir: Path
    log: str = ""
    usage: Usage = field(default_factory=Usage)
    phases: dict[str, float] = field(default_factory=dict)
    tamper_proof: bool = True
    integrity_note: str = ""
    oom_killed: bool = False
    missing: dict[Guarantee, str] = field(default_factory=dict)
    limits_applied: dict[str, float] = field(default_factory=dict)
    image: str | None = None


class Sandbox(ABC):
    """A sandbox backend. ``run`` must never raise for anything the job does; only for its own failures."""

    name: str

    @abstractmethod
    def check(self) -> None:
        """Raise SandboxUnavailable, naming what is missing, when this backend cannot run here."""

    def gpu_missing(self) -> str | None:
        """Why this backend cannot give a job's sandbox a GPU on this machine, or None when it can.

        A probe, run once by the worker (``GRADER_GPU=auto``); backends that never give a GPU say so.
        """
        return f"the {self.name} sandbox cannot give a job a GPU"

    @abstractmethod
    def run(self, job_dir: Path, out_dir: Path, limits: SandboxLimits) -> SandboxRun:
        """Run the launcher over ``job_dir`` (mounted read-only at /job), writing to ``out_dir`` (/out).

        Raises:
            SandboxUnavailable: the backend itself failed (daemon gone, image missing).
            GpuUnavailable: ``limits.gpu`` and this machine cannot give the sandbox a GPU.
        """
