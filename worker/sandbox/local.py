"""The ``local`` sandbox: bubblewrap on this machine, with the worker's own Python.

No network, no IPC, its own pid namespace, a read-only view of only the system folders
and the Python it needs (never the repository, the worker's data or the reference
installed in the worker's environment), a size-capped tmpfs for the work folder and
``/tmp``. As root, the launcher keeps only the capabilities it needs to run judge and
student under separate uids; as another user, everything runs under that user, and the
run says it is not tamper-proof. There is no cgroup here: memory is capped per student
process (address space), processes per student uid, and the wall clock from outside.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from worker.sandbox.base import LAUNCHER_CAPS, LAUNCHER_COMMAND, Sandbox, SandboxLimits, SandboxRun, \
    SandboxUnavailable, Usage

KILL_WAIT_S = 10.0
# Where the packages the grader itself installs live; the sandbox must not see them (the reference
# ``beras`` among them) but only the third-party libraries next to them.
_HIDDEN_PACKAGES = ("beras", "grader", "worker")


def _system_binds() -> list[str]:
    """Read-only binds of the system folders and this Python (merged /usr: /bin, /lib are symlinks)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for etc in ("/etc/ld.so.cache", "/etc/alternatives", "/etc/ssl/certs"):
        if Path(etc).exists():
            args += ["--ro-bind", etc, etc]
    for prefix in sorted({sys.base_prefix, sys.prefix}):
        if not prefix.startswith("/usr"):
            # bubblewrap makes missing parents 0700; the judge and student uids must pass through them.
            for parent in reversed(Path(prefix).parents[:-1]):
                args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", prefix, prefix]
    site = sysconfig.get_paths()["purelib"]
    for package in _HIDDEN_PACKAGES:  # mounted over with an empty folder
        if (Path(site) / package).is_dir():
            args += ["--tmpfs", str(Path(site) / package)]
    return args


class LocalSandbox(Sandbox):
    """Bubblewrap on this machine."""

    name = "local"

    def __init__(self, bwrap: str | None = None) -> None:
        self.bwrap = bwrap or shutil.which("bwrap")

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def check(self) -> None:
        if not self.bwrap:
            raise SandboxUnavailable("bubblewrap is not installed: apt-get install bubblewrap")
        probe = subprocess.run([self.bwrap, *self._namespaces(), "--ro-bind", "/", "/", "true"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            raise SandboxUnavailable(f"bubblewrap cannot make a sandbox here: {probe.stderr.strip()}")

    def _namespaces(self) -> list[str]:
        # As root there is no user namespace: uids inside are real, so judge and student differ.
        user = [] if self.as_root else ["--unshare-user"]
        return [*user, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session"]

    def command(self, job_dir: Path, out_dir: Path, limits: SandboxLimits) -> list[str]:
        caps = ["--cap-drop", "ALL"] + [arg for cap in LAUNCHER_CAPS for arg in ("--cap-add", f"CAP_{cap}")] \
            if self.as_root else []
        return [
            self.bwrap, *self._namespaces(), *caps,
            # The tmpfs first: a Python installed under /work or /tmp is bound inside them afterwards.
            "--size", str(limits.tmpfs_mb * 2**20), "--tmpfs", "/work",
            "--size", str(64 * 2**20), "--perms", "1777", "--tmpfs", "/tmp", *_system_binds(),
            "--proc", "/proc", "--dev", "/dev",
            "--ro-bind", str(job_dir), "/job", "--bind", str(out_dir), "/out",
            "--chdir", "/work", "--setenv", "PYTHONPATH", "/job/lib", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            "--", sys.executable, "-s", *LAUNCHER_COMMAND,
        ]

    def run(self, job_dir: Path, out_dir: Path, limits: SandboxLimits) -> SandboxRun:
        if not self.bwrap:
            raise SandboxUnavailable("bubblewrap is not installed: apt-get install bubblewrap")
        job_dir.chmod(0o700)  # only the launcher (root inside) reads the job; students get copies
        log_path = out_dir.parent / "sandbox.log"
        started = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(self.command(job_dir, out_dir, limits), stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=log, start_new_session=True,
                                       env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
            timed_out = False
            try:
                exit_code = process.wait(limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)  # bwrap's pid namespace dies with its init
                exit_code = None
                process.wait(KILL_WAIT_S)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        log_bytes = log_path.read_bytes()[-limits.log_kb * 1024:]
        run = SandboxRun(self.name, exit_code, timed_out, out_dir, log_bytes.decode(errors="replace"),
                         Usage(None, round(cpu, 3), round(wall, 3)), {"run_s": round(wall, 4)})
        if not self.as_root:
            run.tamper_proof = False
            run.integrity_note = ("the local sandbox ran as a non-root user, so judge and student shared one uid: "
                                  "student code could have read or rewritten the judge's files")
        return run
