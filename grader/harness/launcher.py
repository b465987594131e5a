"""The sandbox's first process: starts the judge and, as the judge asks, student processes, under their uids.

Run as ``python3 -m grader.harness.launcher --job /job --out /out --work /work`` (see
``jobspec`` for the folders). As root (with CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_FOWNER,
CAP_DAC_OVERRIDE and CAP_KILL, nothing else) it copies the judge's files to a folder only
the judge uid can read and the student's to one the student uid can read, then starts
pytest as the judge. The judge asks for student processes over a Unix socket; the
launcher starts each one as the student uid and hands the judge the two pipe ends
(SCM_RIGHTS), so the judge never needs a privilege and the student never holds a handle
to the judge. The launcher itself runs no student code and reads nothing a student wrote
except its output, which it caps. Without root it runs everything as one uid and says so:
that run is not tamper-proof.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from grader.harness.jobspec import (
    DEADLINES_FILE,
    JUDGE_LOG,
    RESULTS_FILE,
    STUDENT_LOG,
    JobSpec,
    LauncherReport,
    judge_pytest_args,
)
from grader.harness.limits import (
    INTERRUPT_SIGNAL,
    PINNED_THREADS,
    ProcessLimits,
    describe_exit,
    describe_student_exit,
    others_running,
)

MAX_MESSAGE = 4096
# The libraries whose versions a result records (as ``grader.environment.RECORDED``; the harness imports
# nothing of the control plane).
RECORDED = ("numpy", "pytest")


def _env(home: str, lib: Path) -> dict[str, str]:
    """A clean environment: nothing of the worker's leaks in, and runs do not depend on it."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "PYTHONPATH": str(lib), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "PYTHONNOUSERSITE": "1", **PINNED_THREADS}


def _copy_owned(source: Path, target: Path, uid: int | None, mode: int) -> None:
    """Copy ``source`` to ``target``; give every entry to ``uid`` (when not None) with dirs at ``mode``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    entries = [target, *target.rglob("*")]
    for path in entries:
        path.chmod(mode if path.is_dir() else mode & 0o666)
        if uid is not None:
            os.chown(path, uid, uid)


class Launcher:
    """One grading run inside the sandbox."""

    def __init__(self, job: Path, out: Path, work: Path) -> None:
        self.job, self.out, self.work = job, out, work
        self.spec = JobSpec.read(job)
        self.separate = self.spec.separate_uids and os.geteuid() == 0
        self.python = sys.executable
        self.students: dict[int, subprocess.Popen] = {}
        self.outputs: dict[int, int] = {}  # read end of a student's stdout/stderr pipe -> its pid
        self.report = LauncherReport(
            separate_uids=self.separate, students_started=0, student_exits=[], student_output_bytes=0,
            student_output_dropped=0, max_rss_kb=0, cpu_s=0.0)
        if self.spec.separate_uids and not self.separate:
            self.report.why_not_separate = "the launcher is not root, so judge and student share one uid"
        self.phases: dict[str, float] = {}

    # -- preparing the folders -------------------------------------------------------------------------------
    def prepare(self) -> None:
        started = time.monotonic()
        judge_uid = self.spec.judge_uid if self.separate else None
        student_uid = self.spec.student_uid if self.separate else None
        self.lib = self.work / "lib"
        _copy_owned(self.job / "lib", self.lib, None, 0o755)
        self.judge_dir = self.work / "judge"
        _copy_owned(self.job / "judge", self.judge_dir, judge_uid, 0o700)
        # Student files belong to root and are read-only to the student: it writes only in its home.
        self.student_dir = self.work / "student"
        _copy_owned(self.job / "student", self.student_dir, None, 0o755)
        self.judge_home = self.work / "judge-home"
        self.student_home = self.work / "student-home"
        for home, uid in ((self.judge_home, judge_uid), (self.student_home, student_uid)):
            home.mkdir(mode=0o700)
            if uid is not None:
                os.chown(home, uid, uid)
        if self.separate:
            # The judge writes its results here; the student uid cannot even look inside.
            os.chown(self.out, os.stat(self.out).st_uid, self.spec.judge_uid)
            self.out.chmod(0o770)
        self.student_log = open(self.out / STUDENT_LOG, "ab")
        self.phases["prepare_s"] = round(time.monotonic() - started, 4)

    # -- the student processes -------------------------------------------------------------------------------
    def _student_limits(self) -> ProcessLimits:
        # NPROC counts per uid: with a shared uid it would count the judge's processes too.
        return ProcessLimits(memory_mb=self.spec.student_memory_mb, output_mb=self.spec.output_kb * 4 / 1024,
                             processes=self.spec.pids if self.separate else None)

    def start_student(self) -> tuple[dict, list[int]]:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        output_read, output_write = os.pipe()
        ids = {"user": self.spec.student_uid, "group": self.spec.student_uid, "extra_groups": []} \
            if self.separate else {}
        try:
            process = subprocess.Popen(
                [self.python, "-m", "grader.harness.student_main", "--submission", str(self.student_dir),
                 "--in-fd", str(request_read), "--out-fd", str(reply_write)],
                pass_fds=(request_read, reply_write), stdin=subprocess.DEVNULL, stdout=output_write,
                stderr=output_write, cwd=self.student_home, start_new_session=True,
                preexec_fn=self._student_limits().apply, env=_env(str(self.student_home), self.lib), **ids)
        except OSError as error:
            for fd in (request_read, request_write, reply_read, reply_write, output_read, output_write):
                os.close(fd)
            return {"error": f"could not start the student process: {error}"}, []
        for fd in (request_read, reply_write, output_write):
            os.close(fd)
        os.set_blocking(output_read, False)
        self.students[process.pid] = process
        self.outputs[output_read] = process.pid
        self.report.students_started += 1
        self._log(f"\n--- student process {self.report.students_started} started ---\n".encode())
        return {"pid": process.pid}, [request_write, reply_read]

    def stop_student(self, pid: int) -> dict:
        process = self.students.pop(pid, None)
        if process is None:
            return {"error": f"no student process {pid}"}
        if process.returncode is None:
            try:
                os.killpg(pid, signal.SIGKILL)  # the group: whatever it forked goes too
            except ProcessLookupError:
                pass
        ended = describe_student_exit(self._reap(pid))
        if self.separate:
            self._kill_student_uid()
        self.report.student_exits.append(ended.how)
        return {"how": ended.how, "kind": ended.kind.value}

    def interrupt_student(self, pid: int) -> dict:
        """Ask a student process to abandon the call it serves (its deadline passed): ``INTERRUPT_SIGNAL``."""
        process = self.students.get(pid)
        if process is None:
            return {"error": f"no student process {pid}"}
        if process.returncode is None:
            try:
                os.kill(pid, INTERRUPT_SIGNAL)
            except ProcessLookupError:
                pass
        return {"ok": True}

    def student_alone(self, pid: int) -> dict:
        """Whether the student process runs nothing besides itself: nothing in its group, nothing else of the
        student uid (a process that left the group); with one uid for judge and student, its group only."""
        if pid not in self.students:
            return {"error": f"no student process {pid}"}
        return {"alone": not others_running(pid, self.spec.student_uid if self.separate else None)}

    def _kill_student_uid(self) -> None:
        """Kill every process of the student uid: a child that called setsid() left the process group.

        A helper switches to the student uid and sends SIGKILL to everything it may signal (kill -1),
        until nothing is left; the launcher's own uid and the judge's are out of its reach.
        """
        self._signal_student_uid(signal.SIGKILL, rounds=1000)

    def pause_students(self, paused: bool) -> dict:
        """Stop (SIGSTOP) or continue (SIGCONT) every student process, for the judge to time something alone.

        With separate uids that is every process of the student uid, wherever it forked to (a few
        rounds catch a fork that was under way); with one uid, each student process group.
        """
        sig = signal.SIGSTOP if paused else signal.SIGCONT
        if self.separate:
            self._signal_student_uid(sig, rounds=3)
        else:
            for pid in self.students:
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    pass
        return {"ok": True}

    def _signal_student_uid(self, sig: int, rounds: int) -> None:
        """Send ``sig`` to every process of the student uid, ``rounds`` times or until none is left.

        A helper process switches to the student uid and calls kill(-1): the launcher keeps its own uid.
        """
        helper = os.fork()
        if helper == 0:  # pragma: no cover - runs in the child
            try:
                os.setgroups([])
                os.setgid(self.spec.student_uid)
                os.setuid(self.spec.student_uid)
                for _ in range(rounds):
                    try:
                        os.kill(-1, sig)
                    except ProcessLookupError:
                        break
                    time.sleep(0.001)
            finally:
                os._exit(0)
        # Orphans go to the sandbox's init (bubblewrap's, or docker-init), which reaps them.
        os.waitpid(helper, 0)

    def _reap(self, pid: int) -> int:
        _, status, usage = os.wait4(pid, 0)
        self._account(usage)
        return os.waitstatus_to_exitcode(status)

    def _account(self, usage: resource.struct_rusage) -> None:
        self.report.max_rss_kb = max(self.report.max_rss_kb, usage.ru_maxrss)
        self.report.cpu_s = round(self.report.cpu_s + usage.ru_utime + usage.ru_stime, 4)

    def _log(self, data: bytes) -> None:
        """Keep student output up to the cap; count the rest."""
        self.report.student_output_bytes += len(data)
        room = self.spec.output_kb * 1024 - self.student_log.tell()
        if room > 0:
            self.student_log.write(data[:room])
            self.student_log.flush()
        self.report.student_output_dropped += max(0, len(data) - max(room, 0))

    def _drain(self, fd: int) -> None:
        try:
            while data := os.read(fd, 65536):
                self._log(data)
        except BlockingIOError:
            return
        os.close(fd)  # end of file: the process and all it forked are done writing
        self.outputs.pop(fd, None)

    # -- the judge -------------------------------------------------------------------------------------------
    def start_judge(self) -> tuple[subprocess.Popen, socket.socket]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        spec = self.spec
        assignment = self.judge_dir / spec.assignment
        command = [
            self.python, "-m", "pytest", *spec.suites, *judge_pytest_args(assignment),
            "--basetemp", str(self.judge_home / "pytest"),
            "--seed", str(spec.seed), "--reference", str(self.judge_dir / "reference"),
            "--points", str(self.judge_dir / "points.json"),
            "--results", str(self.out / RESULTS_FILE),
            "--spawner-fd", str(theirs.fileno()), "--call-timeout", str(spec.call_timeout_s),
            "--beras-backend", spec.beras_backend, *spec.extra_pytest_args,
        ]
        deadlines = self.judge_dir / DEADLINES_FILE
        if deadlines.is_file():  # a job prepared without one: every call gets call_timeout_s
            command += ["--deadlines", str(deadlines)]
        ids = {"user": spec.judge_uid, "group": spec.judge_uid, "extra_groups": []} if self.separate else {}
        log = open(self.out / JUDGE_LOG, "ab")
        judge = subprocess.Popen(
            command, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            cwd=assignment, env=_env(str(self.judge_home), self.lib),
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (spec.judge_output_mb * 2**20,) * 2),
            **ids)
        log.close()
        theirs.close()
        return judge, ours

    def _answer(self, control: socket.socket) -> bool:
        """Serve one request from the judge; False when the judge closed its end."""
        try:
            data = control.recv(MAX_MESSAGE)
        except ConnectionError:
            return False
        if not data:
            return False
        try:
            request = json.loads(data)
            op = request["op"]
        except (ValueError, KeyError, TypeError):
            reply, fds = {"error": "malformed request"}, []
        else:
            if op == "start":
                reply, fds = self.start_student()
            elif op == "stop":
                reply, fds = self.stop_student(int(request.get("pid", -1))), []
            elif op in ("pause", "resume"):
                reply, fds = self.pause_students(op == "pause"), []
            elif op == "interrupt":
                reply, fds = self.interrupt_student(int(request.get("pid", -1))), []
            elif op == "alone":
                reply, fds = self.student_alone(int(request.get("pid", -1))), []
            else:
                reply, fds = {"error": f"unknown op {op!r}"}, []
        socket.send_fds(control, [json.dumps(reply).encode()], fds)
        for fd in fds:
            os.close(fd)
        return True

    def run(self) -> int:
        self.prepare()
        started = time.monotonic()
        judge, control = self.start_judge()
        self.phases["start_s"] = round(time.monotonic() - started, 4)
        judge_fd = os.pidfd_open(judge.pid)
        poller = select.poll()
        poller.register(control, select.POLLIN)
        poller.register(judge_fd, select.POLLIN)
        watched = set()
        control_open = judge_running = True
        while judge_running:
            for fd in self.outputs.keys() - watched:
                poller.register(fd, select.POLLIN)
                watched.add(fd)
            for fd, _ in poller.poll():
                if fd == control.fileno() and control_open:
                    if not self._answer(control):
                        poller.unregister(control)
                        control_open = False
                elif fd == judge_fd:
                    judge_running = False
                elif fd in self.outputs:
                    self._drain(fd)
                    if fd not in self.outputs:
                        poller.unregister(fd)
                        watched.discard(fd)
        judge_exit = self._reap(judge.pid)
        for pid in list(self.students):
            self.stop_student(pid)
        for fd in list(self.outputs):
            self._drain(fd)
        self.phases["run_s"] = round(time.monotonic() - started - self.phases["start_s"], 4)
        self.report.judge_exit, self.report.judge_ended = judge_exit, describe_exit(judge_exit)
        self.report.phases, self.report.environment = self.phases, environment()
        _cgroup_report(self.report)
        self.report.write(self.out)
        return 0 if judge_exit in (0, 1) else 3


def environment() -> dict[str, str | None]:
    """The Python and library versions this sandbox runs (the judge's and the student's: one interpreter).

    Read from the installed distributions' metadata: nothing is imported, so it costs milliseconds.
    """
    from importlib import metadata

    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in RECORDED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


_CGROUP = Path("/sys/fs/cgroup")


def _number(*paths: str) -> int | None:
    """The first of ``paths`` (under /sys/fs/cgroup) holding a number (or the first word of ``cpu.max``)."""
    for path in paths:
        try:
            word = (_CGROUP / path).read_text().split()[0]
            return int(word)
        except (OSError, ValueError, IndexError):
            continue
    return None


def _cgroup_report(report: LauncherReport) -> None:
    """Fill ``report``'s figures of the sandbox's own cgroup, where it can see one (Docker mounts it at
    /sys/fs/cgroup; v1 or v2).

    Peak memory, CPU seconds, and the limits the kernel holds; None for what it cannot read.
    """
    peak = _number("memory.peak", "memory/memory.max_usage_in_bytes")
    cpu_ns = _number("cpuacct/cpuacct.usage", "cpu,cpuacct/cpuacct.usage")
    if cpu_ns is None:
        try:
            stat = dict(line.split() for line in (_CGROUP / "cpu.stat").read_text().splitlines())
            cpu_ns = int(stat["usage_usec"]) * 1000
        except (OSError, ValueError, KeyError):
            pass
    memory = _number("memory.max", "memory/memory.limit_in_bytes")
    quota = _number("cpu.max", "cpu/cpu.cfs_quota_us", "cpu,cpuacct/cpu.cfs_quota_us")
    period = None
    try:
        period = int((_CGROUP / "cpu.max").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        period = _number("cpu/cpu.cfs_period_us", "cpu,cpuacct/cpu.cfs_period_us")
    limits = {"memory_mb": memory / 2**20 if memory else None,
              "cpus": quota / period if quota and quota > 0 and period else None,
              "pids": _number("pids.max", "pids/pids.max")}
    report.cgroup_peak_memory_bytes = peak
    report.cgroup_cpu_s = cpu_ns / 1e9 if cpu_ns is not None else None
    report.cgroup_limits = {k: v for k, v in limits.items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="launcher", description=__doc__.splitlines()[0])
    parser.add_argument("--job", type=Path, default=Path("/job"))
    parser.add_argument("--out", type=Path, default=Path("/out"))
    parser.add_argument("--work", type=Path, default=Path("/work"))
    args = parser.parse_args(argv)
    os.umask(0o022)
    return Launcher(args.job, args.out, args.work).run()


if __name__ == "__main__":
    sys.exit(main())
