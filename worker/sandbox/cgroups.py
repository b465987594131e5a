"""One cgroup per local-sandbox job, on cgroup v1 or v2: docker's memory, CPU and pids limits, its usage.

Where job cgroups go:

- v1 (a hierarchy per controller): under the worker's own cgroup in each hierarchy, as
  ``<own>/beras-job-<token>``, so that a job stays inside whatever limits the worker itself runs under.
- v2 (one hierarchy): a cgroup with processes in it cannot hand controllers to children, and the
  worker's own cgroup holds the worker; so jobs go under ``beras-grader/`` at the top of the mount (as
  docker's cgroupfs driver puts ``docker/`` there), which holds no process and enables memory, cpu
  and pids for its children.

A limit that cannot be set is not an error: ``JobCgroup.missing`` names it with the reason, and the
run goes on without it.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from worker.sandbox.base import Guarantee, SandboxLimits

CPU_PERIOD_US = 100_000  # the CFS period docker uses
V2_PARENT = "beras-grader"
KILL_WAIT_S = 10.0
_V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")  # cpuacct: the job's CPU seconds
_NEEDS = {Guarantee.JOB_MEMORY_LIMIT: "memory", Guarantee.JOB_CPU_LIMIT: "cpu",
          Guarantee.JOB_PIDS_LIMIT: "pids"}


@dataclass(frozen=True)
class Hierarchy:
    """Where this machine's cgroups are, seen from this process.

    Attributes:
        version: 1 or 2.
        parents: controller -> the folder job cgroups are made in (v2: one folder for all).
        why_not: controller -> why it cannot be used (not mounted, not enabled).
    """

    version: int
    parents: dict[str, Path]
    why_not: dict[str, str] = field(default_factory=dict)


def _unescape(path: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def _mounts(mountinfo: str) -> list[tuple[str, Path, str, set[str]]]:
    """``(root, mount point, fstype, super options)`` of each cgroup or cgroup2 mount."""
    found = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        found.append((_unescape(fields[3]), Path(_unescape(fields[4])), tail[0], set(tail[2].split(","))))
    return found


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    """controller -> this process's cgroup path (v1); ``""`` -> its path in the v2 hierarchy."""
    paths = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    return paths


def _under(mount: Path, root: str, own: str) -> Path:
    """The folder of cgroup ``own`` in a hierarchy mounted at ``mount`` from its ``root``."""
    relative = own[len(root):] if own.startswith(root) else own
    return mount / relative.lstrip("/")


def find_hierarchy(mountinfo: str, proc_cgroup: str) -> Hierarchy | None:
    """The hierarchy job cgroups can use, from ``/proc/self/mountinfo`` and ``/proc/self/cgroup``.

    v1 wins when it has one of memory, cpu or pids (hybrid machines mount a v2 hierarchy beside v1,
    with no controllers in it). Returns None when no cgroup file system is mounted.
    """
    mounts = _mounts(mountinfo)
    own = _own_paths(proc_cgroup)
    v1 = {}
    for root, point, fstype, options in mounts:
        if fstype == "cgroup":
            for controller in options & set(_V1_CONTROLLERS):
                if controller in own:
                    v1[controller] = _under(point, root, own[controller])
    if v1.keys() & {"memory", "cpu", "pids"}:
        why = {c: "its cgroup v1 hierarchy is not mounted" for c in _V1_CONTROLLERS if c not in v1}
        return Hierarchy(1, v1, why)
    for root, point, fstype, _ in mounts:
        if fstype == "cgroup2":
            parent = point / V2_PARENT
            return Hierarchy(2, {c: parent for c in ("memory", "cpu", "pids")})
    return None


def detect() -> Hierarchy | None:
    """This process's hierarchy (see ``find_hierarchy``); None without cgroups or /proc."""
    try:
        return find_hierarchy(Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text())
    except OSError:
        return None


def _why(error: OSError) -> str:
    return f"{error.strerror or error} ({error.filename})" if error.filename else str(error)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _field(text: str | None, name: str) -> int | None:
    """The number after ``name`` in a keyed file (``memory.events``, ``cpu.stat``, ``memory.oom_control``)."""
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if key == name and value.strip().isdigit():
            return int(value)
    return None


def _swap_present() -> bool:
    meminfo = _read(Path("/proc/meminfo")) or ""
    for line in meminfo.splitlines():
        if line.startswith("SwapTotal:"):
            return line.split()[1] != "0"
    return False


class JobCgroup:
    """The cgroups of one job: made and limited by ``create``, joined by its child, emptied by ``destroy``."""

    def __init__(self, hierarchy: Hierarchy, token: str | None = None) -> None:
        self.hierarchy = hierarchy
        name = f"beras-job-{token or secrets.token_hex(8)}"
        self.folders = {c: parent / name for c, parent in hierarchy.parents.items()}
        self.missing: dict[Guarantee, str] = {}
        self.applied: dict[str, float] = {}
        self.made: list[Path] = []

    # -- making it ------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, hierarchy: Hierarchy | None, limits: SandboxLimits,
               token: str | None = None) -> JobCgroup:
        """A job cgroup with the limits set that this machine allows; the others in ``missing``."""
        if hierarchy is None:
            job = cls(Hierarchy(0, {}), token)
            job.missing = {g: "this machine has no cgroup file system" for g in _NEEDS}
            return job
        job = cls(hierarchy, token)
        if hierarchy.version == 2:
            job._prepare_v2_parent()
        for folder in dict.fromkeys(job.folders.values()):
            try:
                folder.mkdir()
                job.made.append(folder)
            except OSError as error:
                for controller, where in list(job.folders.items()):
                    if where == folder:
                        job._lose(controller, f"cannot make a cgroup: {_why(error)}")
        if "memory" in job.folders:
            job._limit_memory(limits.sandbox_memory_mb * 2**20)
        if "cpu" in job.folders:
            job._limit_cpu(limits.cpus)
        if "pids" in job.folders:
            job._limit_pids(limits.sandbox_pids)
        for guarantee, controller in _NEEDS.items():
            if controller not in job.folders and guarantee not in job.missing:
                job.missing[guarantee] = hierarchy.why_not.get(controller, "its controller is not available")
        return job

    def _lose(self, controller: str, why: str) -> None:
        """Give up on ``controller`` for this job; name the guarantee it carried."""
        self.folders.pop(controller, None)
        for guarantee, needed in _NEEDS.items():
            if needed == controller:
                self.missing.setdefault(guarantee, why)

    def _prepare_v2_parent(self) -> None:
        """``beras-grader/`` at the top of the v2 mount, handing memory, cpu and pids to its children."""
        parent = next(iter(self.hierarchy.parents.values()))
        wanted = ("memory", "cpu", "pids")
        try:
            parent.mkdir(exist_ok=True)
            for folder in (parent.parent, parent):
                enabled = set((_read(folder / "cgroup.subtree_control") or "").split())
                if not set(wanted) <= enabled:
                    handed = " ".join(f"+{c}" for c in wanted if c not in enabled)
                    (folder / "cgroup.subtree_control").write_text(handed)
        except OSError as error:
            for controller in wanted:
                self._lose(controller,
                           f"cannot hand the {controller} controller to job cgroups: {_why(error)}")

    def _write(self, controller: str, name: str, value: str) -> bool:
        try:
            (self.folders[controller] / name).write_text(value)
            return True
        except OSError as error:
            self._lose(controller, f"cannot set {name}: {_why(error)}")
            return False

    def _limit_memory(self, limit: int) -> None:
        folder = self.folders["memory"]
        if self.hierarchy.version == 1:
            # memsw is RAM + swap, never below the RAM limit: RAM first. Equal figures: no swap, as docker
            # sets it.
            if not self._write("memory", "memory.limit_in_bytes", str(limit)):
                return
            if (folder / "memory.memsw.limit_in_bytes").exists():
                self._write("memory", "memory.memsw.limit_in_bytes", str(limit))
            elif _swap_present():
                self.missing[Guarantee.JOB_MEMORY_LIMIT] = (
                    "swap is not counted (the kernel runs without swap accounting: boot with swapaccount=1)")
            held = _read(folder / "memory.limit_in_bytes")
        else:
            if not self._write("memory", "memory.max", str(limit)):
                return
            try:  # memory.max is RAM alone on v2: no swap on top, as docker sets it for equal figures
                (folder / "memory.swap.max").write_text("0")
            except OSError as error:
                if _swap_present():
                    self.missing[Guarantee.JOB_MEMORY_LIMIT] = f"swap is not limited: {_why(error)}"
            held = _read(folder / "memory.max")
        if held and held.strip().isdigit():
            self.applied["memory_mb"] = int(held) / 2**20

    def _limit_cpu(self, cpus: float) -> None:
        quota = max(1000, int(cpus * CPU_PERIOD_US))
        if self.hierarchy.version == 1:
            if (self._write("cpu", "cpu.cfs_period_us", str(CPU_PERIOD_US))
                    and self._write("cpu", "cpu.cfs_quota_us", str(quota))):
                held_quota = _read(self.folders["cpu"] / "cpu.cfs_quota_us")
                held_period = _read(self.folders["cpu"] / "cpu.cfs_period_us")
                if held_quota and held_period:
                    self.applied["cpus"] = int(held_quota) / int(held_period)
        elif self._write("cpu", "cpu.max", f"{quota} {CPU_PERIOD_US}"):
            held = (_read(self.folders["cpu"] / "cpu.max") or "").split()
            if len(held) == 2 and held[0].isdigit():
                self.applied["cpus"] = int(held[0]) / int(held[1])

    def _limit_pids(self, pids: int) -> None:
        if self._write("pids", "pids.max", str(pids)):
            held = _read(self.folders["pids"] / "pids.max")
            if held and held.strip().isdigit():
                self.applied["pids"] = int(held)

    # -- joining it -----------------------------------------------------------------------------------------
    def procs_files(self) -> list[Path]:
        """The ``cgroup.procs`` files a process writes its pid to, to join the job (one per folder made)."""
        return [folder / "cgroup.procs" for folder in self.made]

    # -- reading it -----------------------------------------------------------------------------------------
    def usage(self) -> tuple[int | None, float | None, bool]:
        """``(peak memory bytes, CPU seconds, oom killed)`` of the job so far; None where not measured."""
        v1 = self.hierarchy.version == 1
        memory, cpu = self.folders.get("memory"), self.folders.get("cpuacct" if v1 else "cpu")
        peak = cpu_s = None
        oom = False
        if memory is not None:
            v1_names = ("memory.memsw.max_usage_in_bytes", "memory.max_usage_in_bytes")
            names = v1_names if v1 else ("memory.peak",)
            for name in names:
                text = _read(memory / name)
                if text and text.strip().isdigit():
                    peak = int(text)
                    break
            events = _read(memory / ("memory.oom_control" if v1 else "memory.events"))
            oom = bool(_field(events, "oom_kill"))
        if cpu is not None:
            if v1:
                text = _read(cpu / "cpuacct.usage")
                cpu_s = int(text) / 1e9 if text and text.strip().isdigit() else None
            else:
                usec = _field(_read(cpu / "cpu.stat"), "usage_usec")
                cpu_s = usec / 1e6 if usec is not None else None
        return peak, cpu_s, oom

    # -- removing it ----------------------------------------------------------------------------------------
    def pids(self) -> set[int]:
        found = set()
        for procs in self.procs_files():
            found |= {int(pid) for pid in (_read(procs) or "").split()}
        return found

    def destroy(self, wait_s: float = KILL_WAIT_S) -> str | None:
        """Kill whatever is left in the job and remove its cgroups; a message when it could not, else None.

        Emptying a cgroup has no wait of its own on v1 (and processes may still be forking while they
        are killed), so this kills and retries until the folders go or ``wait_s`` runs out.
        """
        kill = [folder / "cgroup.kill" for folder in self.made if (folder / "cgroup.kill").exists()]
        for path in kill:  # v2 (5.14+): the kernel kills the whole cgroup, forks in flight included
            try:
                path.write_text("1")
            except OSError:
                pass
        deadline = time.monotonic() + wait_s
        pause = 0.001
        while True:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            left = []
            for folder in reversed(self.made):
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    pass
                except OSError as error:
                    if error.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                        return f"cannot remove the job cgroup {folder}: {_why(error)}"
                    left.append(folder)
            self.made = list(reversed(left))
            if not left:
                return None
            if time.monotonic() > deadline:
                return f"the job cgroups {', '.join(map(str, left))} still hold processes after {wait_s:g} s"
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
