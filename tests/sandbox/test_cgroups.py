"""Job cgroups: finding the hierarchy, the v2 files written (in a fake folder), and a real job cgroup here."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.authoring.config import Limits
from tests.grading.conftest import require
from worker.sandbox import cgroups
from worker.sandbox.base import Guarantee, SandboxLimits
from worker.sandbox.cgroups import Hierarchy, JobCgroup, find_hierarchy

V1_MOUNTINFO = """\
23 1 0:21 / / rw,relatime - overlay overlay rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
V1_CGROUP = """\
9:name=systemd:/
8:pids:/
4:memory:/process_api/abc
2:cpuacct:/
1:cpu:/
0::/
"""
# Debian with systemd on v1: cpu and cpuacct share a hierarchy; the worker runs in a service's cgroup.
V1_COMOUNTED = """\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
"""
V1_COMOUNTED_CGROUP = "5:cpu,cpuacct:/system.slice/worker.service\n3:memory:/system.slice/worker.service\n"
V2_MOUNTINFO = "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V2_CGROUP = "0::/user.slice/user-0.slice/session-1.scope\n"


def test_v1_each_controller_under_the_workers_own_cgroup():
    found = find_hierarchy(V1_MOUNTINFO, V1_CGROUP)
    assert found == Hierarchy(1, {"cpu": Path("/sys/fs/cgroup/cpu"),
                                  "cpuacct": Path("/sys/fs/cgroup/cpuacct"),
                                  "memory": Path("/sys/fs/cgroup/memory/process_api/abc"),
                                  "pids": Path("/sys/fs/cgroup/pids")})


def test_v1_co_mounted_controllers_and_a_missing_one():
    found = find_hierarchy(V1_COMOUNTED, V1_COMOUNTED_CGROUP)
    service = Path("system.slice/worker.service")
    assert found.version == 1
    assert found.parents == {"cpu": Path("/sys/fs/cgroup/cpu,cpuacct") / service,
                             "cpuacct": Path("/sys/fs/cgroup/cpu,cpuacct") / service,
                             "memory": Path("/sys/fs/cgroup/memory") / service}
    assert "pids" in found.why_not


def test_v1_mount_root_and_escaped_mount_point():
    """A mount of a sub-tree (a container's view): the path is taken relative to the mount's root."""
    mountinfo = "40 31 0:36 /docker/abc /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids\n"
    found = find_hierarchy(mountinfo, "8:pids:/docker/abc/worker\n")
    assert found.parents == {"pids": Path("/sys/fs/cgroup/my pids/worker")}


def test_v2_jobs_go_under_a_parent_at_the_top_of_the_mount():
    found = find_hierarchy(V2_MOUNTINFO, V2_CGROUP)
    parent = Path("/sys/fs/cgroup/beras-grader")
    assert found == Hierarchy(2, {"memory": parent, "cpu": parent, "pids": parent})


def test_no_cgroup_file_system():
    assert find_hierarchy("23 1 0:21 / / rw - overlay overlay rw\n", "0::/\n") is None


def _limits(**figures) -> SandboxLimits:
    """The limits table's defaults with ``figures`` changed."""
    return dataclasses.replace(SandboxLimits.from_table(Limits()), **figures)


LIMITS = _limits(memory_mb=1024, cpus=1.5, pids=100)


def test_v2_files_written(tmp_path):
    """On a fake v2 mount: controllers handed down at the top and in ``beras-grader``, then docker's
    figures."""
    (tmp_path / "cgroup.subtree_control").write_text("cpu\n")
    job = JobCgroup.create(Hierarchy(2, {c: tmp_path / "beras-grader" for c in ("memory", "cpu", "pids")}),
                           LIMITS, token="t1")
    folder = tmp_path / "beras-grader" / "beras-job-t1"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (tmp_path / "beras-grader" / "cgroup.subtree_control").read_text() == "+memory +cpu +pids"
    assert (folder / "memory.max").read_text() == str((1024 + 512) * 2**20)
    assert (folder / "memory.swap.max").read_text() == "0"
    assert (folder / "cpu.max").read_text() == "150000 100000"
    assert (folder / "pids.max").read_text() == str(100 + 64)
    assert job.missing == {}
    assert job.applied == {"memory_mb": 1536.0, "cpus": 1.5, "pids": 164}
    assert job.procs_files() == [folder / "cgroup.procs"]
    (folder / "memory.peak").write_text("123456789\n")
    (folder / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    assert job.usage() == (123456789, 2.5, True)


def test_what_cannot_be_set_is_named(tmp_path):
    """No cgroup at all, a parent that cannot be written, one controller missing: each guarantee says why."""
    none = JobCgroup.create(None, LIMITS)
    assert set(none.missing) == {Guarantee.JOB_MEMORY_LIMIT, Guarantee.JOB_CPU_LIMIT,
                                 Guarantee.JOB_PIDS_LIMIT}
    assert none.procs_files() == [] and none.usage() == (None, None, False) and none.destroy() is None
    (tmp_path / "memory").mkdir()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    job = JobCgroup.create(Hierarchy(1, {"memory": tmp_path / "memory", "cpu": blocked},
                                     {"pids": "its cgroup v1 hierarchy is not mounted"}), LIMITS, token="t2")
    assert job.applied == {"memory_mb": 1536.0}
    assert "cannot make a cgroup" in job.missing[Guarantee.JOB_CPU_LIMIT]
    assert str(blocked) in job.missing[Guarantee.JOB_CPU_LIMIT]
    assert job.missing[Guarantee.JOB_PIDS_LIMIT] == "its cgroup v1 hierarchy is not mounted"
    assert Guarantee.JOB_MEMORY_LIMIT not in job.missing


@pytest.fixture
def hierarchy() -> Hierarchy:
    """This machine's cgroups, where a job cgroup can be made (as root; `make test` runs as root)."""
    found = cgroups.detect()
    probe = JobCgroup.create(found, _limits())
    probe.destroy()
    if probe.missing:
        require("writable cgroups", "; ".join(f"{g.value}: {why}" for g, why in probe.missing.items()))
    return found


def _joined(job: JobCgroup, code: str) -> subprocess.Popen:
    """A Python child that joins ``job`` before it runs ``code``."""
    files = [str(path) for path in job.procs_files()]

    def join() -> None:
        for path in files:
            with open(path, "w") as procs:
                procs.write(str(os.getpid()))

    return subprocess.Popen([sys.executable, "-c", code], preexec_fn=join, stdout=subprocess.PIPE)


def test_a_real_job_cgroup_holds_memory_and_is_removed(hierarchy):
    """Limits read back from the kernel; a child over the memory limit is OOM-killed and the job says so; the
    job's peak stays at the limit; destroy kills what is left and removes every folder."""
    limits = _limits(memory_mb=16, cpus=0.5, pids=40)  # 528 MiB for the whole job
    job = JobCgroup.create(hierarchy, limits)
    try:
        assert job.missing == {}
        assert job.applied == {"memory_mb": 528.0, "cpus": 0.5, "pids": 104}
        hog = _joined(job, "blocks = [b'x' * 2**26 for _ in range(16)]")  # 1 GiB, written
        assert hog.wait(60) == -9
        peak, cpu_s, oom = job.usage()
        assert oom is True
        assert 400 * 2**20 < peak <= 528 * 2**20
        assert cpu_s > 0
        sleeper = _joined(job, "import time; print('in', flush=True); time.sleep(600)")
        assert sleeper.stdout.readline() == b"in\n"
        assert job.pids() == {sleeper.pid}
    finally:
        left = job.destroy()
    assert left is None
    assert sleeper.wait(10) == -9
    assert not any(folder.exists() for folder in job.folders.values())
