"""The one limits table: every figure the sandbox and the harness enforce comes from `[limits]`."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from grader.authoring.config import Limits
from grader.authoring.scaffold import DEFAULT_LIMITS
from grader.harness.jobspec import JobSpec
from worker.sandbox.base import SandboxLimits
from worker.sandbox.docker import DockerSandbox
from worker.sandbox.local import LocalSandbox

# Every key of the table away from its default, so that a figure taken from anywhere else shows.
TABLE = Limits(wall_time_s=71.0, call_time_s=7.0, memory_mb=1111, cpus=1.25, pids=77, output_kb=333,
               judge_memory_mb=222, judge_pids=33, judge_output_mb=44, work_tmpfs_mb=555, tmp_tmpfs_mb=66,
               sandbox_log_kb=88)
HARNESS_FIGURES = ("call_timeout_s", "student_memory_mb", "pids", "output_kb", "judge_output_mb")


def test_every_key_of_the_test_table_differs_from_its_default():
    defaults = Limits()
    same = [key for key in Limits.model_fields if getattr(TABLE, key) == getattr(defaults, key)
            and key not in ("call_time_factor", "call_time_floor_s", "call_time_repeat_floor_s")]
    assert same == []


def test_sandbox_limits_and_the_job_spec_hold_no_default_limit():
    sandbox = {f.name for f in dataclasses.fields(SandboxLimits) if f.default is not dataclasses.MISSING}
    assert sandbox == {"gpu"}  # the queue decides that, not the table
    spec = {f.name: f.default for f in dataclasses.fields(JobSpec)}
    assert all(spec[name] is dataclasses.MISSING for name in HARNESS_FIGURES)


def test_the_sandbox_takes_every_figure_from_the_table():
    limits = SandboxLimits.from_table(TABLE, gpu=True)
    assert dataclasses.asdict(limits) == {"wall_s": 71.0, "memory_mb": 1111, "cpus": 1.25, "pids": 77,
                                          "judge_memory_mb": 222, "judge_pids": 33, "tmpfs_mb": 555,
                                          "tmp_tmpfs_mb": 66, "log_kb": 88, "gpu": True}
    assert (limits.sandbox_memory_mb, limits.sandbox_pids) == (1111 + 222, 77 + 33)


def test_the_local_sandbox_sizes_its_tmpfs_from_the_table(tmp_path):
    sandbox = LocalSandbox(bwrap="/usr/bin/bwrap", rootfs_base=tmp_path)
    command = sandbox.command(tmp_path / "job", tmp_path / "out", SandboxLimits.from_table(TABLE))
    sizes, size = {}, None
    for arg, following in zip(command, command[1:]):
        if arg == "--size":  # bubblewrap's --size applies to the next --tmpfs
            size = int(following)
        elif arg == "--tmpfs":
            sizes[following] = size
    assert sizes == {"/work": 555 * 2**20, "/tmp": 66 * 2**20}


class _Refused(Exception):
    """Stops the docker backend once it has asked for its container."""


class _Containers:
    def __init__(self) -> None:
        self.created: dict = {}

    def list(self, **_filters) -> list:
        return []

    def create(self, image, command, **options):
        self.created = options
        raise _Refused


def test_the_docker_sandbox_takes_every_figure_from_the_table(tmp_path):
    client = type("Client", (), {"containers": _Containers()})()
    (tmp_path / "job").mkdir()
    with pytest.raises(_Refused):
        DockerSandbox(image="beras-grader-sandbox:test", client=client).run(
            tmp_path / "job", tmp_path / "out", SandboxLimits.from_table(TABLE))
    options = client.containers.created
    assert options["tmpfs"] == {"/work": "size=555m,mode=755", "/tmp": "size=66m,mode=1777"}
    assert (options["mem_limit"], options["memswap_limit"]) == ("1333m", "1333m")
    assert options["pids_limit"] == 110 and options["nano_cpus"] == 1_250_000_000
    assert options["log_config"]["config"]["max-size"] == "88k"


def test_the_job_spec_carries_the_harness_figures(tmp_path):
    spec = JobSpec("toy", ("hidden_tests",), seed=1, call_timeout_s=TABLE.call_time_s,
                   student_memory_mb=TABLE.memory_mb, pids=TABLE.pids, output_kb=TABLE.output_kb,
                   judge_output_mb=TABLE.judge_output_mb)
    spec.write(tmp_path)
    read = JobSpec.read(tmp_path)
    assert {name: getattr(read, name) for name in HARNESS_FIGURES} == {
        "call_timeout_s": 7.0, "student_memory_mb": 1111, "pids": 77, "output_kb": 333, "judge_output_mb": 44}


def test_new_assignments_start_from_the_tables_defaults():
    written = tomllib.loads(DEFAULT_LIMITS)["limits"]
    assert written and all(value == getattr(Limits(), key) for key, value in written.items())


def test_the_plugin_s_hand_run_call_limit_is_the_table_s_default():
    """A hand run (an author's `pytest -p grader.harness.plugin --student-process`) has no job spec: the
    plugin falls back to a per-call limit of its own, which the harness cannot read from grader.authoring.
    The gate and the sandbox always pass the table's figure; this keeps the fallback from drifting."""
    from grader.harness import plugin

    options = {}

    class Group:
        def addoption(self, name, **kwargs):
            options[name] = kwargs

    class Parser:
        def getgroup(self, *args, **kwargs):
            return Group()

        def addini(self, *args, **kwargs):
            pass

    plugin.pytest_addoption(Parser())
    assert options["--call-timeout"]["default"] == Limits().call_time_s


def test_student_processes_on_cupy_have_no_address_space_cap_but_numpy_ones_do():
    """A CUDA context maps tens of GiB it never touches: an RLIMIT_AS of the table's memory would stop CuPy
    before the first test, so on the GPU backend the sandbox's cgroup alone confines memory."""
    from worker.grading.job import student_address_space

    assert student_address_space(TABLE.memory_mb, "numpy") == 1111
    assert student_address_space(TABLE.memory_mb, "cupy") is None
