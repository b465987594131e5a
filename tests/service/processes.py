"""Real services for the tests: private redis-server and PostgreSQL instances, and beras-grader processes."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 (not up yet)
            last = error
        time.sleep(interval)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s" + (f" (last error: {last})" if last
                                                                          else ""))


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """redis-server on 127.0.0.1 with an append-only file, so a restart keeps what was queued."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "yes"],
            stdout=open(self.folder / "redis.log", "ab"), stderr=subprocess.STDOUT)
        wait_for(lambda: _port_open(self.port), 20, "redis-server to listen")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Postgres:
    """A private PostgreSQL cluster (Debian's binaries) on 127.0.0.1, trusted locally, that tests may stop and
    start."""

    def __init__(self, folder: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not found:
            raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = Path(found[-1]).parent
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgresql://grader@127.0.0.1:{self.port}/grader"
        self.process: subprocess.Popen | None = None
        # PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres account.
        self.user = "postgres" if os.geteuid() == 0 else None

    def _as_owner(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", self.user, "--", *argv] if self.user else argv

    def init(self) -> Postgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            # let postgres reach its folder
            self.folder.parent.chmod(self.folder.parent.stat().st_mode | 0o055)
            for parent in list(self.folder.parents)[:-1]:
                try:
                    parent.chmod(parent.stat().st_mode | 0o011)
                except PermissionError:
                    pass
        subprocess.run(self._as_owner([str(self.bin / "initdb"), "-D", str(self.data), "-U", "grader",
                                       "--auth=trust", "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True, cwd=self.folder)
        self.start()
        subprocess.run(self._as_owner([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                                       "-U",
                                       "grader", "grader"]), check=True, capture_output=True, cwd=self.folder)
        return self

    def start(self) -> None:
        log = open(self.folder / "postgres.log", "ab")
        self.process = subprocess.Popen(
            self._as_owner([str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k",
                            str(self.folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                            "max_connections=200"]),
            stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        wait_for(lambda: _port_open(self.port), 30, "PostgreSQL to listen")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # Fast shutdown: open connections are cut, as in an outage.
            subprocess.run(self._as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                                           "stop"]),
                           check=True, capture_output=True, timeout=60, cwd=self.folder)
            self.process.wait(30)


class Service:
    """One ``beras-grader`` process (``serve`` or ``worker``) with its own environment and log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> Service:
        self.process = subprocess.Popen([str(BIN / "beras-grader"), *self.args], cwd=REPO, env=self.env,
                                        stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                        start_new_session=True)
        return self

    def kill(self) -> None:
        """kill -9 the process and everything it started (a worker machine lost mid-job)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_healthy(url: str, timeout: float = 60) -> dict:
    return wait_for(lambda: (r := httpx.get(url, timeout=2)).status_code == 200 and r.json(), timeout,
                    f"{url} to be healthy")


def have(program: str) -> bool:
    return shutil.which(program) is not None


def require(who: str, programs: tuple[str, ...] = (), sandboxes: tuple[str, ...] = ()) -> None:
    """Skip ``who`` visibly when a program or a sandbox backend is missing; fail instead under
    BERAS_REQUIRE_SANDBOXES=1, as `make test` runs, which installs them all."""
    import pytest

    from tests.grading.conftest import REQUIRE_SANDBOXES
    from worker.sandbox import SandboxUnavailable, choose_sandbox

    missing = [program for program in programs if not have(program)]
    for backend in sandboxes:
        try:
            choose_sandbox(backend)
        except SandboxUnavailable as why:
            missing.append(f"the {backend} sandbox ({why})")
    if missing and REQUIRE_SANDBOXES:
        pytest.fail(f"{who} need {', '.join(missing)} (make test installs them)")
    if missing:
        pytest.skip(f"not run: {', '.join(missing)} unavailable here")
