"""How a student process failed or ended, as kinds decided where it happened (standard library only: the
launcher imports this without numpy)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FailureKind(str, Enum):
    """How a student process failed a call, decided where it happened (the deadline, the wait status).

    ``str``-valued: it travels as plain text in the launcher's replies and the results file.
    """

    TIMEOUT = "timeout"  # the call's deadline passed
    CRASHED = "crashed"  # the process exited, or a signal other than SIGKILL ended it
    OUT_OF_MEMORY = "out_of_memory"  # SIGKILL: the kernel's OOM killer (the sandbox's memory limit)
    PROTOCOL = "protocol"  # it broke the message protocol


def after_stop(kind: FailureKind) -> FailureKind:
    """The kind of a later call's failure that follows from an earlier stop (a stale handle, a failed import).

    Running out of memory stays that: the later call lost its object to it; anything else is a crash.
    """
    return FailureKind.OUT_OF_MEMORY if kind is FailureKind.OUT_OF_MEMORY else FailureKind.CRASHED


@dataclass(frozen=True)
class Exit:
    """How a student process ended: in words for the student, and its kind, from the wait status."""

    how: str  # completes "the student process ...", e.g. "was killed by SIGKILL (...)"
    kind: FailureKind
