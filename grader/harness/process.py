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
import resource
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from grader.harness import framing
from grader.harness.handles import HarnessError, StudentProcessError, Transport

KILL_WAIT_S = 5.0
# One BLAS/OpenMP thread: results and timings must not depend on the machine's load or core count,
# and per-thread stacks must not eat a small address-space limit.
PINNED_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class StudentProcess(ABC):
    """A running student server: the judge's ends of the two pipes, and how to stop it."""

    to_student: int
    from_student: int

    @abstractmethod
    def stop(self) -> str:
        """Kill the process (and its children) if still running; return how it ended, in words."""


class Spawner(ABC):
    """Starts student processes."""

    @abstractmethod
    def start(self) -> StudentProcess:
        """Start one; raise HarnessError when that is impossible."""


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
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else f"signal {number}"
        why = {signal.SIGKILL: "out of memory, or stopped by a limit", signal.SIGSEGV: "a segmentation fault",
               signal.SIGXCPU: "the CPU-time limit", signal.SIGXFSZ: "the output-size limit"}.get(number)
        return f"was killed by {name}" + (f" ({why})" if why else "")
    return f"exited with status {returncode}"


class _Popened(StudentProcess):
    def __init__(self, process: subprocess.Popen, to_student: int, from_student: int) -> None:
        self.process, self.to_student, self.from_student = process, to_student, from_student

    def stop(self) -> str:
        if self.process.returncode is None:  # not reaped yet, so the group id is still ours
            try:
                # The group, even when its leader has already exited: forks die with it.
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            returncode = self.process.wait(KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            return "could not be stopped"
        finally:
            for fd in (self.to_student, self.from_student):
                try:
                    os.close(fd)
                except OSError:
                    pass
        return describe_exit(returncode)


class DirectSpawner(Spawner):
    """Start ``student_main`` as a child of the judge, in its own process group.

    Args:
        submission: folder holding the student's ``beras/``.
        log: file that receives the student's stdout and stderr.
        limits: rlimits for the process.
        python: interpreter to run it with.
    """

    def __init__(self, submission: Path, log: Path, limits: ProcessLimits = ProcessLimits(),
                 python: str = sys.executable) -> None:
        self.submission, self.log, self.limits, self.python = Path(submission).resolve(), log, limits, python

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
                    env={**os.environ, **PINNED_THREADS, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": ""},
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
    """Exchange messages with a student process, each within ``call_timeout_s``."""

    def __init__(self, spawner: Spawner, call_timeout_s: float) -> None:
        self.spawner, self.call_timeout_s = spawner, call_timeout_s
        self._process: StudentProcess | None = None
        self._requests = 0  # sent to the current process
        self._generation = 0  # processes stopped so far: handles of an older generation are dead

    @property
    def generation(self) -> int:
        return self._generation

    def _drop(self, process: StudentProcess) -> str:
        self._process = None
        self._generation += 1
        return process.stop()

    def refresh(self) -> str | None:
        process = self._process
        if process is None or not framing.hung_up(process.from_student):
            return None
        return f"the student process {self._drop(process)} between calls"

    def exchange(self, request: bytes) -> bytes:
        if self._process is None:
            self._process = self.spawner.start()
            self._requests = 0
        process = self._process
        self._requests += 1
        deadline = time.monotonic() + self.call_timeout_s
        try:
            framing.send(process.to_student, request, deadline)
            return framing.recv_reply(process.from_student, self._requests, deadline)
        except framing.Timeout:
            self._drop(process)
            raise StudentProcessError(
                "timeout", f"did not finish within {self.call_timeout_s:g} s (the per-call time limit)") from None
        except framing.Closed:
            raise StudentProcessError("crashed", f"failed: the student process {self._drop(process)}") from None
        except framing.ProtocolViolation as error:
            self._drop(process)
            raise StudentProcessError("protocol", f"broke the protocol ({error})") from None

    def close(self) -> None:
        """Stop the student process (at the end of the run, or after a malformed reply)."""
        if self._process is not None:
            self._drop(self._process)


class _Launched(StudentProcess):
    def __init__(self, spawner: LauncherSpawner, pid: int, to_student: int, from_student: int) -> None:
        self.spawner, self.pid, self.to_student, self.from_student = spawner, pid, to_student, from_student

    def stop(self) -> str:
        try:
            reply, _ = self.spawner.ask({"op": "stop", "pid": self.pid})
            return reply.get("how", "could not be stopped")
        finally:
            for fd in (self.to_student, self.from_student):
                try:
                    os.close(fd)
                except OSError:
                    pass


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
