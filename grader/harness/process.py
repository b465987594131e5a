"""The student in its own process: a transport with a deadline on every call, restarted after a failure.

The judge talks to ``student_main`` over two pipes. A call that outlives the per-call
limit, a crash, an exit or a malformed reply stops that process (its whole process
group) and fails the call with a message naming what happened; the next call starts a
fresh process. Handles made before a restart belong to the old process and say so.

Who starts the process is a ``Spawner``: ``DirectSpawner`` starts it from the judge
(same uid, for development and for students' machines); the sandbox's launcher provides
one that starts it under the student uid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.harness import framing
from grader.harness.failures import Exit, FailureKind
from grader.harness.handles import (
    HarnessError,
    ReleaseFailed,
    StudentProcessError,
    Transport,
)
from grader.harness.limits import (  # noqa: F401
    INTERRUPT_SIGNAL,
    PINNED_THREADS,
    ProcessLimits,
    describe_exit,
    describe_student_exit,
    others_running,
)

KILL_WAIT_S = 5.0
# How long a process asked to abandon a call past its deadline has to answer before it is stopped:
# Python runs the signal's handler at once unless the student ignores it or sits in one long C call.
INTERRUPT_GRACE_S = 1.0


class StudentProcess(ABC):
    """A running student server: the judge's ends of the two pipes, and how to stop it."""

    to_student: int
    from_student: int

    @abstractmethod
    def stop(self) -> Exit:
        """Kill the process (and its children) if still running; return how it ended, and its kind."""

    @abstractmethod
    def pause(self, paused: bool) -> None:
        """Stop (SIGSTOP) the process and whatever it started, or let them go on (SIGCONT)."""

    @abstractmethod
    def interrupt(self) -> None:
        """Ask the process to abandon the call it serves (``INTERRUPT_SIGNAL``); it answers with an error."""

    @abstractmethod
    def alone(self) -> bool:
        """Whether the process runs nothing besides itself (no child, nothing that left its group)."""

    def _close_pipes(self) -> None:
        for fd in (self.to_student, self.from_student):
            try:
                os.close(fd)
            except OSError:
                pass


class Spawner(ABC):
    """Starts student processes."""

    @abstractmethod
    def start(self) -> StudentProcess:
        """Start one; raise HarnessError when that is impossible."""


class _Popened(StudentProcess):
    def __init__(self, process: subprocess.Popen, to_student: int, from_student: int) -> None:
        self.process, self.to_student, self.from_student = process, to_student, from_student

    def stop(self) -> Exit:
        if self.process.returncode is None:  # not reaped yet, so the group id is still ours
            try:
                # The group, even when its leader has already exited: forks die with it.
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            returncode = self.process.wait(KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            return Exit("could not be stopped", FailureKind.CRASHED)
        finally:
            self._close_pipes()
        return describe_student_exit(returncode)

    def pause(self, paused: bool) -> None:
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGSTOP if paused else signal.SIGCONT)
            except ProcessLookupError:
                pass

    def interrupt(self) -> None:
        if self.process.returncode is None:
            try:
                os.kill(self.process.pid, INTERRUPT_SIGNAL)
            except ProcessLookupError:
                pass

    def alone(self) -> bool:
        return not others_running(self.process.pid)  # the judge's own uid: only the group can be told apart


class DirectSpawner(Spawner):
    """Start ``student_main`` as a child of the judge, in its own process group.

    Args:
        submission: folder holding the student's ``beras/``.
        log: file that receives the student's stdout and stderr.
        limits: rlimits for the process.
        python: interpreter to run it with.
        harness_root: the folder holding ``grader/harness``, put on the process's path; None: an empty
            path (a student's starter holds the harness inside the submission, an installed one finds it).
    """

    def __init__(self, submission: Path, log: Path, limits: ProcessLimits = ProcessLimits(),
                 python: str = sys.executable, harness_root: Path | None = None) -> None:
        self.submission, self.log, self.limits, self.python = Path(submission).resolve(), log, limits, python
        self.pythonpath = str(Path(harness_root).resolve()) if harness_root else ""

    def start(self) -> StudentProcess:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            with open(self.log, "ab") as log:
                process = subprocess.Popen(
                    [self.python, "-m", "grader.harness.student_main", "--submission", str(self.submission),
                     "--in-fd", str(request_read), "--out-fd", str(reply_write)],
                    pass_fds=(request_read, reply_write), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    cwd=self.submission, start_new_session=True, preexec_fn=self.limits.apply,
                    env={**os.environ, **PINNED_THREADS, "PYTHONDONTWRITEBYTECODE": "1",
                         "PYTHONPATH": self.pythonpath},
                )
        except OSError as error:
            for fd in (request_read, request_write, reply_read, reply_write):
                os.close(fd)
            raise HarnessError(f"could not start the student process: {error}") from None
        os.close(request_read)
        os.close(reply_write)
        os.set_blocking(request_write, False)
        os.set_blocking(reply_read, False)
        return _Popened(process, request_write, reply_read)


class ProcessTransport(Transport):
    """Exchange messages with a student process, each within its deadline, never past ``call_timeout_s``."""

    def __init__(self, spawner: Spawner, call_timeout_s: float) -> None:
        self.spawner, self.call_timeout_s = spawner, call_timeout_s
        self._process: StudentProcess | None = None
        self._reader: framing.Reader | None = None  # the current process's replies
        self._requests = 0  # sent to the current process
        self._generation = 0  # processes stopped so far: handles of an older generation are dead

    @property
    def generation(self) -> int:
        return self._generation

    def _drop(self, process: StudentProcess) -> Exit:
        self._process = self._reader = None
        self._generation += 1
        return process.stop()

    def refresh(self) -> StudentProcessError | None:
        process = self._process
        if process is None or not framing.hung_up(process.from_student):
            return None
        ended = self._drop(process)
        return StudentProcessError(ended.kind, f"the student process {ended.how} between calls")

    def _start(self) -> StudentProcess:
        if self._process is None:
            self._process = self.spawner.start()
            self._reader = framing.Reader(self._process.from_student)
            self._requests = 0
        return self._process

    def start_ahead(self) -> None:
        """Start the student process now, not at the first call (its startup overlaps the judge's work).

        A failure to start is not reported here: the first call tries again and says why.
        """
        try:
            self._start()
        except HarnessError:
            pass

    def _seconds(self, timeout_s: float | None) -> float:
        """A call's deadline: ``timeout_s`` within the limit, but the limit itself for a new process's first.

        A fresh process spends its first call starting up (the interpreter, the submission's import):
        no per-test deadline holds that.
        """
        if timeout_s is None or self._process is None or self._requests == 0:
            return self.call_timeout_s
        return min(timeout_s, self.call_timeout_s)

    def exchange(self, request: bytes, timeout_s: float | None = None) -> bytes:
        seconds = self._seconds(timeout_s)
        process = self._start()
        self._requests += 1
        deadline = time.monotonic() + seconds
        try:
            framing.send_framed(process.to_student, framing.frame(request), deadline)
        except framing.FramingError as error:
            raise self._failed(process, error, seconds) from None
        return self._reply(process, deadline, seconds)

    def _reply(self, process: StudentProcess, deadline: float, seconds: float) -> bytes:
        """The reply to the last request, by ``deadline``; past it, the call is abandoned (``_abandon``)."""
        try:
            return self._reader.recv_reply(self._requests, deadline)
        except framing.Timeout:
            raise self._abandon(process, seconds) from None
        except framing.FramingError as error:
            raise self._failed(process, error, seconds) from None

    def _abandon(self, process: StudentProcess, seconds: float) -> StudentProcessError:
        """The call is past its deadline: ask the process to give it up, and stop the process if it does not.

        A process that answers (whatever it answers) within ``INTERRUPT_GRACE_S`` and left nothing
        running serves on: a hang then costs its deadline and no restart. The answer is not used: the
        call failed at its deadline. Otherwise the process and all it started are stopped, as before.
        """
        try:
            process.interrupt()
            self._reader.recv_reply(self._requests, time.monotonic() + INTERRUPT_GRACE_S)
            kept = process.alone()  # what the call started (a fork bomb that left the group) dies with it
        except (framing.FramingError, HarnessError):
            kept = False
        if not kept:
            return self._failed(process, framing.Timeout(), seconds)
        return StudentProcessError(FailureKind.TIMEOUT,
                                   f"did not finish within {seconds:g} s (the per-call time limit)", seconds)

    def exchange_after_release(self, release: bytes, request: bytes, timeout_s: float | None = None) -> bytes:
        """Both in one write; the release's reply within its deadline, then the request's within its own.

        The request's deadline starts when the release's reply has arrived, that is when the
        student side turns to it.
        """
        seconds = self._seconds(timeout_s)
        process = self._start()
        self._requests += 2
        deadline = time.monotonic() + seconds
        try:
            framing.send_framed(process.to_student, framing.frame(release) + framing.frame(request), deadline)
            self._reader.recv_reply(self._requests - 1, deadline)
        except framing.FramingError as error:
            failure = self._failed(process, error, seconds)
            raise ReleaseFailed(failure.kind, failure.detail) from None
        return self._reply(process, time.monotonic() + seconds, seconds)

    def _failed(self, process: StudentProcess, error: framing.FramingError,
                seconds: float) -> StudentProcessError:
        """Stop ``process`` after ``error`` on its pipes; the failure to raise, in words for the student."""
        if isinstance(error, framing.Timeout):
            self._drop(process)
            # The next process starts now, while the judge reports this failure and sets up the next
            # test: a hang then costs its deadline and little of a restart.
            self.start_ahead()
            return StudentProcessError(
                FailureKind.TIMEOUT, f"did not finish within {seconds:g} s (the per-call time limit)",
                seconds)
        if isinstance(error, framing.Closed):
            ended = self._drop(process)
            return StudentProcessError(ended.kind, f"failed: the student process {ended.how}")
        self._drop(process)
        return StudentProcessError(FailureKind.PROTOCOL, f"broke the protocol ({error})")

    def close(self) -> None:
        """Stop the student process (at the end of the run, or after a malformed reply)."""
        if self._process is not None:
            self._drop(self._process)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the student process and all it started, for the block (none running: nothing to do)."""
        process = self._process
        if process is None:
            yield
            return
        process.pause(True)
        try:
            yield
        finally:
            process.pause(False)


class _Launched(StudentProcess):
    def __init__(self, spawner: LauncherSpawner, pid: int, to_student: int, from_student: int) -> None:
        self.spawner, self.pid, self.to_student, self.from_student = spawner, pid, to_student, from_student

    def stop(self) -> Exit:
        try:
            reply, _ = self.spawner.ask({"op": "stop", "pid": self.pid})
            if "how" not in reply:
                return Exit("could not be stopped", FailureKind.CRASHED)
            return Exit(reply["how"], FailureKind(reply.get("kind", FailureKind.CRASHED)))
        finally:
            self._close_pipes()

    def pause(self, paused: bool) -> None:
        # The launcher does it: a student process may have left its group, and may run under another uid.
        self.spawner.ask({"op": "pause" if paused else "resume", "pid": self.pid})

    def interrupt(self) -> None:
        self.spawner.ask({"op": "interrupt", "pid": self.pid})

    def alone(self) -> bool:
        return bool(self.spawner.ask({"op": "alone", "pid": self.pid})[0].get("alone"))


class LauncherSpawner(Spawner):
    """Ask the sandbox's launcher for student processes (started under the student uid).

    Args:
        fd: the judge's end of the launcher's SOCK_SEQPACKET socket (``--spawner-fd``).
    """

    def __init__(self, fd: int) -> None:
        import socket

        self._socket_module = socket
        self.sock = socket.socket(fileno=fd)

    def ask(self, request: dict) -> tuple[dict, list[int]]:
        import json

        try:
            self.sock.sendall(json.dumps(request).encode())
            data, fds, _, _ = self._socket_module.recv_fds(self.sock, 4096, 2)
        except OSError as error:
            raise HarnessError(f"the sandbox launcher did not answer: {error}") from None
        if not data:
            raise HarnessError("the sandbox launcher is gone")
        reply = json.loads(data)
        if "error" in reply:
            for fd in fds:
                os.close(fd)
            raise HarnessError(f"the sandbox launcher refused: {reply['error']}")
        return reply, fds

    def start(self) -> StudentProcess:
        reply, fds = self.ask({"op": "start"})
        if len(fds) != 2:
            raise HarnessError("the sandbox launcher sent a student process without its pipes")
        for fd in fds:
            os.set_blocking(fd, False)
        return _Launched(self, int(reply["pid"]), fds[0], fds[1])
