"""What a student process runs under, and how its end is told: shared by the judge's spawner and the launcher.

Kept free of numpy and of the rest of the harness, so that the sandbox's launcher starts fast.
"""

from __future__ import annotations

import os
import resource
import signal
from dataclasses import dataclass

from grader.harness.failures import Exit, FailureKind

# One BLAS/OpenMP thread: results and timings must not depend on the machine's load or core count,
# and per-thread stacks must not eat a small address-space limit.
PINNED_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Sent to a student process whose call is past its deadline: the call is abandoned and the process serves on.
INTERRUPT_SIGNAL = signal.SIGUSR1


@dataclass(frozen=True)
class ProcessLimits:
    """rlimits of each student process (``DirectSpawner``'s and the sandbox launcher's)."""

    memory_mb: int | None = None  # address space; None leaves it unlimited
    output_mb: float = 64  # largest file the process may write (its log included)
    cpu_s: int | None = None
    processes: int | None = None  # most processes of the process's uid; None leaves it unlimited

    def apply(self) -> None:
        """Set the limits on the calling process (in the child, between fork and exec); core dumps off."""
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(self.output_mb * 2**20),) * 2)
        if self.memory_mb:
            resource.setrlimit(resource.RLIMIT_AS, (self.memory_mb * 2**20,) * 2)
        if self.cpu_s:
            resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_s, self.cpu_s + 1))
        if self.processes:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.processes,) * 2)


def describe_exit(returncode: int) -> str:
    """How a process ended, for a student: ``killed by SIGKILL (...)`` or ``exited with status 0``."""
    if returncode < 0:
        number = -returncode
        known = number in signal.Signals._value2member_map_
        name = signal.Signals(number).name if known else f"signal {number}"
        why = {signal.SIGKILL: "out of memory, or stopped by a limit", signal.SIGSEGV: "a segmentation fault",
               signal.SIGXCPU: "the CPU-time limit", signal.SIGXFSZ: "the output-size limit"}.get(number)
        return f"was killed by {name}" + (f" ({why})" if why else "")
    return f"exited with status {returncode}"


def describe_student_exit(returncode: int) -> Exit:
    """How a student process ended, with its kind read from the wait status, never from the words.

    In the sandbox nothing but the kernel's OOM killer sends a running student process SIGKILL (the
    judge's own kill comes after the failure is decided), so SIGKILL is out of memory.
    """
    kind = FailureKind.OUT_OF_MEMORY if returncode == -signal.SIGKILL else FailureKind.CRASHED
    return Exit(describe_exit(returncode), kind)


def others_running(pid: int, uid: int | None = None) -> bool:
    """Whether a live process other than ``pid`` is in ``pid``'s process group or (given ``uid``) runs as it.

    A student process whose call was interrupted serves on only if it left nothing running: a
    child, or one that left the group (setsid), is only stopped with the whole process.
    """
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == pid:
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if fields[0] in ("Z", "X"):  # a zombie holds nothing
                continue
            if int(fields[2]) == pid or (uid is not None and os.stat(f"/proc/{entry}").st_uid == uid):
                return True
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return False
