"""The ``local`` sandbox: bubblewrap on this machine, over the grading environment's root file system.

No network, no IPC, its own pid namespace, a read-only root that is the same tree the docker
backend's image is made of (``image.rootfs_dir``: Debian, its python3 and the pinned wheels;
never this machine's system, the repository, the worker's data or the reference installed in
the worker's environment), a size-capped tmpfs for the work folder and ``/tmp``. As root,
the launcher keeps only the capabilities it needs to run judge and student under separate
uids; as another user, everything runs under that user, and the run says it is not
tamper-proof.

Confined as docker confines a container: the job runs in a cgroup of its own (``cgroups``) with
docker's memory (RAM + swap, tmpfs included), CPU and pids limits, which also gives the job's own
peak memory, CPU seconds and whether the OOM killer fired; a seccomp filter (``seccomp``) refuses
new namespaces, keyrings, file locks and the like; and the job gets a fresh session keyring, not
the worker's. Whatever this machine cannot give (no writable cgroup, no seccomp) the run names in
``SandboxRun.missing`` and goes on without it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from worker.sandbox import cgroups, gpu, image, seccomp
from worker.sandbox.base import (
    LAUNCHER_CAPS,
    LAUNCHER_COMMAND,
    SANDBOX_PYTHON,
    Guarantee,
    Sandbox,
    SandboxLimits,
    SandboxRun,
    SandboxUnavailable,
    Usage,
)

KILL_WAIT_S = 10.0
KEYCTL_JOIN_SESSION_KEYRING = 1


def _root_binds(rootfs: Path) -> list[str]:
    """The sandbox's root: the environment's root file system, read-only, as the docker image gives it.

    Nothing of this machine's own system or Python is visible: the sandbox runs the files the
    docker backend runs, so a grade does not depend on the backend.
    """
    return ["--ro-bind", str(rootfs), "/"]


class _ChildSetup:
    """What the sandbox's first process does between fork and exec: join the job's cgroups, a fresh keyring.

    Everything is prepared here in the parent (files opened, the syscall found), so the child only
    writes and calls: it runs in a copy of a possibly multi-threaded worker, where taking a lock or
    importing could hang. It never raises; it reports what failed on a pipe the parent reads once the
    child has exec'd (``failures``).
    """

    def __init__(self, procs_files: list[Path]) -> None:
        self.procs = []
        self.open_failures = []
        for path in procs_files:
            try:
                self.procs.append(os.open(path, os.O_WRONLY | os.O_CLOEXEC))
            except OSError as error:
                self.open_failures.append(f"cgroup: cannot open {path}: {error.strerror}")
        try:
            # syscall() is variadic: every argument a C long, made here rather than in the child.
            self.join_keyring = (ctypes.c_long(seccomp.syscall_number("keyctl")),
                                 ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None)
            self.syscall = ctypes.CDLL(None, use_errno=True).syscall
            self.syscall.restype = ctypes.c_long
        except (LookupError, OSError, AttributeError) as error:
            self.join_keyring, self.syscall = (), None
            self.open_failures.append(f"keyring: {error}")
        self.report_read, self.report_write = os.pipe()  # both close-on-exec

    def __call__(self) -> None:  # pragma: no cover - runs in the child, between fork and exec
        notes = []
        try:
            pid = str(os.getpid()).encode()
            for fd in self.procs:
                try:
                    os.write(fd, pid)
                except OSError as error:
                    notes.append(f"cgroup: {os.strerror(error.errno)}")
            if self.syscall is not None:
                if self.syscall(*self.join_keyring) < 0:  # a new anonymous session keyring
                    notes.append(f"keyring: {os.strerror(ctypes.get_errno())}")
        except BaseException as error:  # noqa: BLE001 - nothing may escape into subprocess' child
            notes.append(f"setup: {error!r}")
        if notes:
            os.write(self.report_write, "\n".join(notes).encode()[:4096])

    def failures(self) -> list[str]:
        """What the child could not do (call once, after it exec'd)."""
        os.close(self.report_write)
        self.report_write = -1  # closed: ``close`` must not close a number another thread may reuse
        chunks = []
        while chunk := os.read(self.report_read, 4096):
            chunks.append(chunk)
        reported = b"".join(chunks).decode(errors="replace").splitlines()
        return self.open_failures + [line for line in reported if line]

    def close(self) -> None:
        for fd in (*self.procs, self.report_read, self.report_write):
            if fd >= 0:
                os.close(fd)
        self.procs, self.report_read, self.report_write = [], -1, -1


class LocalSandbox(Sandbox):
    """Bubblewrap on this machine."""

    name = "local"

    def __init__(self, bwrap: str | None = None, rootfs_base: Path = image.ROOTFS_BASE) -> None:
        self.bwrap = bwrap or shutil.which("bwrap")
        self.hierarchy = cgroups.detect()
        self.rootfs_base = rootfs_base
        self.image = image.image_tag()
        self.rootfs = image.rootfs_dir(rootfs_base)

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def _require_rootfs(self) -> None:
        if not image.rootfs_ready(self.rootfs_base):
            raise SandboxUnavailable(f"the sandbox's root file system for {self.image} is not built "
                                     f"(expected at {self.rootfs}): run `beras-grader image build` as root")

    def check(self) -> None:
        if not self.bwrap:
            raise SandboxUnavailable("bubblewrap is not installed: apt-get install bubblewrap")
        self._require_rootfs()
        probe = subprocess.run([self.bwrap, *self._namespaces(), *_root_binds(self.rootfs), "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            raise SandboxUnavailable(f"bubblewrap cannot make a sandbox here: {probe.stderr.strip()}")

    def gpu_missing(self) -> str | None:
        return gpu.local_gpu_missing()

    def _namespaces(self) -> list[str]:
        # As root there is no user namespace: uids inside are real, so judge and student differ.
        user = [] if self.as_root else ["--unshare-user"]
        return [*user, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session"]

    def command(self, job_dir: Path, out_dir: Path, limits: SandboxLimits,
                seccomp_fd: int | None = None) -> list[str]:
        kept = [arg for cap in LAUNCHER_CAPS for arg in ("--cap-add", f"CAP_{cap}")]
        caps = ["--cap-drop", "ALL", *kept] if self.as_root else []
        syscalls = ["--seccomp", str(seccomp_fd)] if seccomp_fd is not None else []
        return [
            self.bwrap, *self._namespaces(), *caps, *syscalls,
            # The root first: everything after is mounted on its (empty, read-only) mount points.
            *_root_binds(self.rootfs),
            "--size", str(limits.tmpfs_mb * 2**20), "--tmpfs", "/work",
            "--size", str(limits.tmp_tmpfs_mb * 2**20), "--perms", "1777", "--tmpfs", "/tmp",
            "--proc", "/proc", "--dev", "/dev",
            # A GPU job sees the machine's NVIDIA device nodes on its fresh /dev, nothing else of the host's.
            *[arg for node in (gpu.nvidia_devices() if limits.gpu else ())
              for arg in ("--dev-bind", node, node)],
            "--ro-bind", str(job_dir), "/job", "--bind", str(out_dir), "/out",
            "--chdir", "/work", "--setenv", "PYTHONPATH", "/job/lib",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            "--", SANDBOX_PYTHON, "-s", *LAUNCHER_COMMAND,
        ]

    def _syscall_filter(self, missing: dict[Guarantee, str]) -> int | None:
        """A pipe's read end holding bubblewrap's seccomp program; None (and why, in ``missing``) without."""
        if seccomp.machine() is None:
            missing[Guarantee.SYSCALL_FILTER] = f"no syscall table for this machine ({os.uname().machine})"
            return None
        if not seccomp.kernel_supports_seccomp():
            missing[Guarantee.SYSCALL_FILTER] = "this kernel has no seccomp"
            return None
        read_end, write_end = os.pipe()
        with os.fdopen(write_end, "wb") as writer:  # a few hundred bytes: fits the pipe's buffer
            writer.write(seccomp.filter_bytes())
        return read_end

    def run(self, job_dir: Path, out_dir: Path, limits: SandboxLimits) -> SandboxRun:
        if not self.bwrap:
            raise SandboxUnavailable("bubblewrap is not installed: apt-get install bubblewrap")
        self._require_rootfs()
        job_dir.chmod(0o700)  # only the launcher (root inside) reads the job; students get copies
        log_path = out_dir.parent / "sandbox.log"
        started = time.monotonic()
        cgroup = cgroups.JobCgroup.create(self.hierarchy, limits)
        missing = dict(cgroup.missing)
        seccomp_fd = self._syscall_filter(missing)
        setup = _ChildSetup(cgroup.procs_files())
        timed_out, exit_code = False, None
        try:
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    self.command(job_dir, out_dir, limits, seccomp_fd), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=log, start_new_session=True, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                    pass_fds=() if seccomp_fd is None else (seccomp_fd,), preexec_fn=setup)
                self._note_setup(setup.failures(), cgroup, missing)
                try:
                    exit_code = process.wait(limits.wall_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    os.killpg(process.pid, signal.SIGKILL)  # bwrap's pid namespace dies with its init
                    process.wait(KILL_WAIT_S)
            wall = time.monotonic() - started
            peak, cpu_s, oom_killed = cgroup.usage()
        finally:
            setup.close()
            if seccomp_fd is not None:
                os.close(seccomp_fd)
            leftover = cgroup.destroy()
        log_bytes = log_path.read_bytes()[-limits.log_kb * 1024:]
        if leftover:
            log_bytes += f"\n[local sandbox] {leftover}\n".encode()
        usage = Usage(round(peak / 2**20, 1) if peak is not None else None,
                      round(cpu_s, 3) if cpu_s is not None else None, round(wall, 3))
        run = SandboxRun(self.name, exit_code, timed_out, out_dir, log_bytes.decode(errors="replace"), usage,
                         {"run_s": round(wall, 4)}, oom_killed=oom_killed, missing=missing,
                         limits_applied=dict(cgroup.applied), image=self.image)
        if not self.as_root:
            run.tamper_proof = False
            run.integrity_note = ("the local sandbox ran as a non-root user, so judge and student shared one "
                                  "uid: student code could have read or rewritten the judge's files")
            run.missing[Guarantee.SEPARATE_UIDS] = run.integrity_note
        return run

    @staticmethod
    def _note_setup(failures: list[str], cgroup: cgroups.JobCgroup, missing: dict[Guarantee, str]) -> None:
        """Turn what the sandbox's first process could not do into missing guarantees."""
        for failure in failures:
            what, _, why = failure.partition(": ")
            if what == "keyring":
                missing[Guarantee.OWN_KEYRING] = f"the sandbox could not join a fresh session keyring: {why}"
            else:
                for guarantee in (Guarantee.JOB_MEMORY_LIMIT, Guarantee.JOB_CPU_LIMIT,
                                  Guarantee.JOB_PIDS_LIMIT):
                    missing.setdefault(guarantee, f"the sandbox could not join its cgroup: {why}")
                cgroup.applied.clear()
