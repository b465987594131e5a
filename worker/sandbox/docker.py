"""The ``docker`` sandbox: one hardened, throw-away container per job, through the Docker SDK.

``--network none``, a read-only root with size-capped tmpfs for ``/work`` and ``/tmp`` (tmpfs
pages count against the memory limit), memory and memory+swap equal, no IPC namespace
sharing (no ``/dev/shm``), a pids limit, a CPU quota, all capabilities dropped but the
launcher's, ``no-new-privileges``, no core dumps, logs capped. The wall clock is enforced
from here: the container is killed when it is reached, and removed in a ``finally``
whatever happened. Containers carry labels naming the worker process that made them and the
moment it would kill them, so a worker that starts after a crash removes the ones its dead
predecessor left, and never one that a live worker's job still owns.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

from worker.sandbox import gpu
from worker.sandbox.base import (
    LAUNCHER_CAPS,
    LAUNCHER_COMMAND,
    SANDBOX_PYTHON,
    GpuUnavailable,
    Sandbox,
    SandboxLimits,
    SandboxRun,
    SandboxUnavailable,
    Usage,
)
from worker.sandbox.image import image_exists, image_tag

LABEL = "beras-grader.sandbox"
LABEL_HOST = "beras-grader.host"
LABEL_PID = "beras-grader.worker-pid"
# The owner's boot and start time: a pid that a later process reuses is not the owner any more.
LABEL_STARTED = "beras-grader.worker-started"
# When the owner kills the container at the latest (epoch seconds): past it (and a grace) nobody owns it.
LABEL_DEADLINE = "beras-grader.deadline"
DEADLINE_GRACE_S = 300

# One reaping at a time in this process: the jobs of one worker would otherwise race to remove the same
# orphans.
_reap_lock = threading.Lock()


class DockerSandbox(Sandbox):
    """A container per job, from the image ``image_tag()`` names."""

    name = "docker"

    def __init__(self, image: str | None = None, client=None) -> None:
        self.image = image or image_tag()
        self._client = client
        self._reaped = False

    @property
    def client(self):
        if self._client is None:
            try:
                import docker
            except ImportError:
                raise SandboxUnavailable("the docker Python package is not installed: "
                                         "pip install docker") from None
            try:
                self._client = docker.from_env(timeout=30)
                self._client.ping()
            except Exception as error:  # the SDK raises several types for "no daemon"
                self._client = None
                raise SandboxUnavailable(f"no Docker daemon answers ({error}); "
                                         "start dockerd or use the local sandbox") from None
        return self._client

    def check(self) -> None:
        if not image_exists(self.client, self.image):
            raise SandboxUnavailable(f"the sandbox image {self.image} is not built: run `beras-grader image "
                                     "build` (as root, with the Docker daemon running)")

    def reap_orphans(self) -> list[str]:
        """Remove the sandbox containers nobody owns any more; return their names.

        A container is an orphan when its worker process is gone (same host: its pid is dead or now
        belongs to a later process), or when its deadline (the moment its owner would have killed it)
        passed more than ``DEADLINE_GRACE_S`` ago, whoever made it. A container that a live worker's
        job still owns is never touched. Another worker removing the same orphan at the same moment
        is not an error.
        """
        import docker.errors

        removed = []
        with _reap_lock:
            for container in self.client.containers.list(all=True, filters={"label": LABEL}):
                if _owned(container.labels):
                    continue
                try:
                    container.remove(force=True)
                except docker.errors.NotFound:
                    continue  # removed by someone else since the listing
                except docker.errors.APIError as error:
                    if error.status_code == 409:  # "removal already in progress": someone else is on it
                        continue
                    raise SandboxUnavailable(f"Docker refused to remove the orphaned sandbox container "
                                             f"{container.name}: {error.explanation or error}") from None
                removed.append(container.name)
        return removed

    def run(self, job_dir: Path, out_dir: Path, limits: SandboxLimits) -> SandboxRun:
        import docker.errors
        from docker.types import DeviceRequest, Ulimit

        client = self.client
        if not self._reaped:
            self._reaped = True
            self.reap_orphans()
        job_dir.chmod(0o700)  # only the launcher (root, CAP_DAC_OVERRIDE) reads it; students get copies
        memory = f"{limits.sandbox_memory_mb}m"
        phases: dict[str, float] = {}
        started = time.monotonic()
        try:
            container = client.containers.create(
                self.image, [SANDBOX_PYTHON, "-s", *LAUNCHER_COMMAND],
                environment={"PYTHONPATH": "/job/lib", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"},
                user="0:0", working_dir="/work", network_mode="none", read_only=True, ipc_mode="none",
                tmpfs={"/work": f"size={limits.tmpfs_mb}m,mode=755",
                       "/tmp": f"size={limits.tmp_tmpfs_mb}m,mode=1777"},
                volumes={str(job_dir): {"bind": "/job", "mode": "ro"},
                         str(out_dir): {"bind": "/out", "mode": "rw"}},
                mem_limit=memory, memswap_limit=memory, pids_limit=limits.sandbox_pids,
                nano_cpus=int(limits.cpus * 1e9), cap_drop=["ALL"], cap_add=list(LAUNCHER_CAPS),
                security_opt=["no-new-privileges"], ulimits=[Ulimit(name="core", soft=0, hard=0)],
                log_config={"type": "json-file",
                            "config": {"max-size": f"{limits.log_kb}k", "max-file": "1"}},
                labels=_labels(limits),
                device_requests=[DeviceRequest(count=1, capabilities=[["gpu"]])] if limits.gpu else None,
                init=True,  # docker-init as pid 1 reaps orphans, so killed student processes free their pids
                detach=True,
            )
        except docker.errors.ImageNotFound:
            raise SandboxUnavailable(f"the sandbox image {self.image} is not built: "
                                     "run `beras-grader image build`") from None
        except docker.errors.APIError as error:
            raise SandboxUnavailable(f"Docker refused the sandbox container: "
                                     f"{error.explanation or error}") from None
        try:
            phases["prepare_s"] = round(time.monotonic() - started, 4)
            run_started = time.monotonic()
            self._start(container, limits)
            phases["start_s"] = round(time.monotonic() - run_started, 4)
            timed_out, exit_code = False, None
            try:
                exit_code = container.wait(timeout=limits.wall_s)["StatusCode"]
            except Exception:  # requests' ReadTimeout or ConnectionError: the wall clock ran out
                timed_out = True
                try:
                    container.kill()
                except docker.errors.APIError:
                    pass  # it ended on its own in the meantime
            wall = time.monotonic() - run_started
            phases["run_s"] = round(wall - phases["start_s"], 4)
            collect_started = time.monotonic()
            container.reload()
            state = container.attrs.get("State", {})
            log = container.logs(stdout=True, stderr=True, tail=200)[-limits.log_kb * 1024:]
            phases["collect_s"] = round(time.monotonic() - collect_started, 4)
            return SandboxRun(self.name, exit_code, timed_out, out_dir, log.decode(errors="replace"),
                              Usage(None, None, round(wall, 3)), phases,
                              oom_killed=bool(state.get("OOMKilled")), image=self.image)
        finally:
            try:
                container.remove(force=True)
            except docker.errors.APIError:
                pass

    def _start(self, container, limits: SandboxLimits) -> None:
        """Start the container; a GPU request the daemon cannot serve is ``GpuUnavailable``, naming why.

        Raises:
            GpuUnavailable: the job asked for a GPU and Docker has no device driver for it.
            SandboxUnavailable: Docker refused to start the container for another reason.
        """
        import docker.errors

        try:
            container.start()
        except docker.errors.APIError as error:
            message = str(error.explanation or error)
            if limits.gpu and gpu.NO_DRIVER in message:
                raise GpuUnavailable(gpu.docker_no_runtime(self._runtimes(), message)) from None
            raise SandboxUnavailable(f"Docker could not start the sandbox container: {message}") from None

    def _runtimes(self) -> list[str]:
        try:
            return list(self.client.info().get("Runtimes") or {})
        except Exception:  # noqa: BLE001 (only for the message)
            return []

    def gpu_missing(self) -> str | None:
        """Start a throw-away container from the sandbox image with the GPU request every GPU job makes."""
        import docker.errors
        from docker.types import DeviceRequest

        container = self.client.containers.create(
            self.image, ["/bin/true"], network_mode="none", labels={LABEL: "1", LABEL_DEADLINE: "0"},
            device_requests=[DeviceRequest(count=1, capabilities=[["gpu"]])])
        try:
            container.start()
            container.wait(timeout=60)
        except docker.errors.APIError as error:
            message = str(error.explanation or error)
            if gpu.NO_DRIVER in message:
                return gpu.docker_no_runtime(self._runtimes(), message)
            return f"Docker cannot start a container with a GPU: {message}; {gpu.DOCKER_FIX}"
        finally:
            try:
                container.remove(force=True)
            except docker.errors.APIError:
                pass
        return None


def _labels(limits: SandboxLimits) -> dict[str, str]:
    """Who owns the container, and until when."""
    return {LABEL: "1", LABEL_HOST: socket.gethostname(), LABEL_PID: str(os.getpid()),
            LABEL_STARTED: _started(os.getpid()) or "",
            LABEL_DEADLINE: str(int(time.time() + limits.wall_s) + 1)}


def _owned(labels: dict[str, str]) -> bool:
    """Whether a live worker's job may still own the container with these labels."""
    try:
        deadline = float(labels.get(LABEL_DEADLINE, ""))
    except ValueError:
        deadline = None
    if deadline is not None and time.time() > deadline + DEADLINE_GRACE_S:
        return False  # its owner, alive or not, would have killed it long ago
    if labels.get(LABEL_HOST) != socket.gethostname():
        return True  # another host's worker: only the deadline says it is gone
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return False
    if pid <= 0 or not _alive(pid):
        return False
    started = labels.get(LABEL_STARTED)
    return not started or started == _started(pid)


def _started(pid: int) -> str | None:
    """``<boot id>:<start time in ticks>`` of a process, which no later process with the same pid shares."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        # Field 22 of stat, counted after the command name (which may hold spaces and parentheses).
        ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None
    return f"{boot}:{ticks}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
