"""A student process's failure is graded by the kind its cause gave it, never by the words of its message."""

from __future__ import annotations

import signal

import pytest

from grader.harness.handles import FailureKind, StudentError, StudentProcessFailed, after_stop
from grader.harness.limits import describe_student_exit
from grader.harness.results import _outcome


@pytest.mark.parametrize(("failure", "outcome"), ids=["memory-in-words-but-a-crash", "oom-without-the-word",
                                                      "timeout-mentioning-memory", "protocol"], argvalues=[
    (StudentProcessFailed("student.beras.f()", FailureKind.CRASHED,
                          "failed: the student process exited with status 1 (it printed: out of memory)"),
     "crashed"),
    (StudentProcessFailed("student.beras.f()", FailureKind.OUT_OF_MEMORY,
                          "failed: the student process was killed"), "out_of_memory"),
    (StudentProcessFailed("student.beras.f()", FailureKind.TIMEOUT,
                          "did not finish within 1 s: it was filling its memory"), "timeout"),
    (StudentProcessFailed("student.beras.f()", FailureKind.PROTOCOL, "broke the protocol (memory)"),
     "crashed"),
])
def test_the_outcome_follows_the_kind_not_the_message(failure, outcome) -> None:
    assert _outcome(failure) == outcome


def test_a_student_memory_error_is_out_of_memory_by_its_type_whatever_it_says() -> None:
    assert _outcome(StudentError("student.beras.f()", "MemoryError", "")) == "out_of_memory"
    assert _outcome(StudentError("student.beras.f()", "ValueError", "out of memory")) == "failed"


@pytest.mark.parametrize(("returncode", "kind"), [
    (-signal.SIGKILL, FailureKind.OUT_OF_MEMORY),  # what the kernel's OOM killer sends
    (-signal.SIGSEGV, FailureKind.CRASHED),
    (-signal.SIGXCPU, FailureKind.CRASHED),
    (0, FailureKind.CRASHED),
    (3, FailureKind.CRASHED),
])
def test_a_student_exit_takes_its_kind_from_the_wait_status(returncode, kind) -> None:
    ended = describe_student_exit(returncode)
    assert ended.kind is kind
    assert ended.how.startswith(("was killed by", "exited with status"))


def test_a_later_failure_after_a_stop_keeps_only_out_of_memory() -> None:
    assert after_stop(FailureKind.OUT_OF_MEMORY) is FailureKind.OUT_OF_MEMORY
    for kind in (FailureKind.TIMEOUT, FailureKind.CRASHED, FailureKind.PROTOCOL):
        assert after_stop(kind) is FailureKind.CRASHED
