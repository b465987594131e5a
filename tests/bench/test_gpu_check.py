"""bench/gpu_check.py (`make gpu-check`): CUDA -> CuPy wheel, the parsers, the table, the no-GPU refusal and
the steps' order, with a recording stand-in for ``subprocess.run`` (no GPU on this machine)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import gpu_check
from bench.gpu_check import State, Step

ROOT = Path(__file__).resolve().parents[2]

SMI_HEADER = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.159.04             Driver Version: 580.159.04     CUDA Version: 13.0     |
|-----------------------------------------+------------------------+----------------------+
"""
SMI_LIST = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1b2c3d4e-0000-1111-2222-333344445555)\n"
NVCC = """nvcc: NVIDIA (R) Cuda compiler driver
Cuda compilation tools, release 12.4, V12.4.131
Build cuda_12.4.r12.4/compiler.34097967_0
"""


@pytest.mark.parametrize(("cuda", "package"), [("11.2", "cupy-cuda11x"), ("11.8", "cupy-cuda11x"),
                                               ("12.0", "cupy-cuda12x"), ("12.9", "cupy-cuda12x"),
                                               ("13.0", "cupy-cuda13x"), (" 13.1 ", "cupy-cuda13x")])
def test_each_cuda_version_gets_its_cupy_wheel(cuda, package):
    assert gpu_check.cupy_package(cuda) == package


@pytest.mark.parametrize(("cuda", "said"), [("11.1", "no CuPy wheel for CUDA 11.1"),
                                            ("10.2", "no CuPy wheel for CUDA 10.2"),
                                            ("14.0", "no CuPy wheel for CUDA 14.0"),
                                            ("twelve", "not a CUDA version: 'twelve'")])
def test_a_cuda_version_without_a_wheel_is_named(cuda, said):
    with pytest.raises(ValueError, match=said):
        gpu_check.cupy_package(cuda)


def test_the_parsers_read_nvidia_smi_and_nvcc():
    assert gpu_check.parse_smi_cuda(SMI_HEADER) == "13.0"
    assert gpu_check.parse_smi_cuda("NVIDIA-SMI has failed") is None
    assert gpu_check.parse_nvcc(NVCC) == "12.4"
    assert gpu_check.parse_gpu_list(SMI_LIST + "GPU 1: Tesla T4\n") == ("NVIDIA H100 80GB HBM3", "Tesla T4")
    assert gpu_check.parse_gpu_list("No devices were found\n") == ()
    summary = gpu_check.pytest_summary("x\n=== 12 passed, 1 skipped in 3.2s ===\n")
    assert summary == "12 passed, 1 skipped in 3.2s"


def test_a_toolkit_decides_the_cuda_version_before_the_driver():
    assert gpu_check.Gpu(("H100",), "13.0", "12.4").cuda == "12.4"
    assert gpu_check.Gpu(("H100",), "13.0", None).cuda == "13.0"


def test_the_requirements_leave_out_torch_the_browser_driver_and_the_linter():
    wanted = gpu_check.project_requirements()
    names = {req.split(">")[0].split("=")[0].split("[")[0] for req in wanted}
    assert {"numpy", "pydantic", "sqlalchemy", "pytest", "httpx"} <= names
    assert not names & {"torch", "playwright", "ruff"}


def test_the_table_aligns_its_rows_and_gives_the_verdict():
    steps = [Step("gpu", State.PASS, 0.4, "NVIDIA H100"), Step("torch", State.SKIP, 1.0, "no CUDA PyTorch"),
             Step("bench", State.FAIL, 61.25, "worst 4.1x\nCuPy 12x faster")]
    lines = gpu_check.format_table(steps, 123.4).splitlines()
    assert lines[0].split() == ["step", "state", "seconds", "detail"]
    assert lines[2] == "gpu    pass         0.4  NVIDIA H100"
    assert lines[4] == "bench  FAIL        61.2  worst 4.1x"
    assert lines[5] == " " * 25 + "CuPy 12x faster"  # a detail's further lines under the detail column
    assert lines[-1] == "total 123 s of a 480 s budget: FAILED"
    assert gpu_check.format_table(steps[:2], 5).endswith("budget: all passed")  # a skip fails nothing


class Recorder:
    """Stands in for ``subprocess.run``: records each command and answers from ``replies`` (first match)."""

    def __init__(self, replies):
        self.replies, self.calls = replies, []

    def __call__(self, cmd, **kwargs):
        self.calls.append(cmd)
        for match, reply in self.replies:
            if match(cmd):
                if isinstance(reply, BaseException):
                    raise reply
                code, out = reply(cmd) if callable(reply) else reply
                return subprocess.CompletedProcess(cmd, code, out, "")
        raise AssertionError(f"unexpected command {cmd}")


def _no_smi(cmd):
    return cmd[0] == "nvidia-smi"


def test_without_nvidia_smi_it_refuses_before_installing_anything(tmp_path, capsys):
    run = Recorder([(_no_smi, FileNotFoundError("nvidia-smi"))])
    assert gpu_check.main(["--venv", str(tmp_path / "venv")], run=run) == gpu_check.EXIT_NO_GPU
    assert run.calls == [["nvidia-smi", "-L"]]  # nothing else ran: no venv, no pip
    assert not (tmp_path / "venv").exists()
    err = capsys.readouterr().err
    assert "no NVIDIA GPU here: nvidia-smi is not installed" in err and "nothing was installed" in err


def test_a_driver_that_does_not_answer_is_no_gpu(tmp_path, capsys):
    failed = (9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n")
    run = Recorder([(_no_smi, failed)])
    assert gpu_check.main(["--venv", str(tmp_path / "venv")], run=run) == 2
    assert run.calls == [["nvidia-smi", "-L"]]
    said = "nvidia-smi lists no GPU (exit 9: NVIDIA-SMI has failed because it couldn't"
    assert said in capsys.readouterr().err


def test_the_script_run_on_this_machine_says_no_gpu_and_calls_no_pip(tmp_path):
    """The command `make gpu-check` runs, on a PATH with no nvidia-smi and a pip that would leave a mark."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("pip", "pip3", "nvcc"):
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\ntouch {tmp_path}/{name}-was-called\n")
        shim.chmod(0o755)
    done = subprocess.run([sys.executable, "bench/gpu_check.py", "--venv", str(tmp_path / "venv")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env={"PATH": str(bin_dir)})
    assert done.returncode == 2, done.stderr
    assert "gpu-check: no NVIDIA GPU here: nvidia-smi is not installed" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]  # no venv, no pip mark


def _gpu_machine(tmp_path, cupy_there: bool):
    """Replies of a machine with an H100, driver CUDA 13.0, no toolkit; CuPy there or not."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    state = {"cupy": cupy_there}

    def probe_cupy(cmd):
        return (0, "14.2.0 1 13000\n") if state["cupy"] else (1, "No module named 'cupy'")

    def pip(cmd):
        if any(arg.startswith("cupy-") for arg in cmd):
            state["cupy"] = True
        return 0, ""

    return [
        (lambda c: c == ["nvidia-smi", "-L"], (0, SMI_LIST)),
        (lambda c: c == ["nvidia-smi"], (0, SMI_HEADER)),
        (lambda c: c[0] == "nvcc", FileNotFoundError("nvcc")),
        (lambda c: c[1:3] == ["-m", "venv"], (0, "")),
        (lambda c: "sysconfig" in c[-1], (0, f"{site}\n")),
        (lambda c: c[1:4] == ["-m", "pip", "install"], pip),
        (lambda c: "import cupy" in c[-1], probe_cupy),
        (lambda c: "import torch" in c[-1], (0, "2.11.0+cu130 True\n")),
        (lambda c: c[1:3] == ["-m", "pytest"], (0, "210 passed, 3 deselected in 40.0s\n")),
        (lambda c: c[1] == "bench/gpu.py", (0, "RESULT worst CuPy/torch fwd+bwd 1.20x: met\n")),
        (lambda c: c[1] == "bench/gpu_grade.py", (0, "RESULT ok reference: 100/100\n")),
    ]


def test_on_a_gpu_machine_without_cupy_it_installs_the_wheel_for_the_driver_from_the_wheels(tmp_path, capsys):
    run = Recorder(_gpu_machine(tmp_path, cupy_there=False))
    venv = tmp_path / "venv"
    assert gpu_check.main(["--venv", str(venv), "--wheels", str(tmp_path / "whl")], run=run) == 0
    pips = [cmd for cmd in run.calls if cmd[1:4] == ["-m", "pip", "install"]]
    assert pips[1][-1] == "cupy-cuda13x[ctk]"  # no toolkit: the CUDA libraries come with the wheel
    assert all(cmd[6:9] == ["--no-index", "--find-links", str(tmp_path / "whl")] for cmd in pips)
    assert "pydantic>=2.6" in pips[0]
    table = capsys.readouterr().out.splitlines()
    steps = ("gpu", "env", "cupy", "torch", "tests", "bench", "grade")
    assert [line.split()[:2] for line in table[-8:-1]] == [[name, "pass"] for name in steps]
    assert "installed cupy-cuda13x[ctk]: CuPy 14.2.0 1 13000" in table[-6]
    parent = (tmp_path / "site" / "_gpu_check_parent.pth").read_text().split()
    assert parent and all(p.endswith(("site-packages", "dist-packages")) for p in parent)


def test_cupy_already_there_is_used_as_it_is_and_a_failed_step_fails_the_check(tmp_path, capsys):
    replies = _gpu_machine(tmp_path, cupy_there=True)
    replies.insert(0, (lambda c: c[1:3] == ["-m", "pytest"], (1, "3 failed, 207 passed in 50.0s\n")))
    run = Recorder(replies)
    assert gpu_check.main(["--venv", str(tmp_path / "venv")], run=run) == 1
    assert not any(arg.startswith("cupy-") for cmd in run.calls for arg in cmd)
    out = capsys.readouterr().out
    assert "CuPy 14.2.0 1 13000" in out
    assert "tests  FAIL" in out and "3 failed, 207 passed" in out and out.rstrip().endswith("FAILED")


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended; only its parent has not read its status yet


def test_a_step_past_its_limit_takes_its_grandchildren_with_it(tmp_path):
    """A grading run's judge and students, pytest's workers: nothing of a stopped step keeps the GPU."""
    pid_file = tmp_path / "pid"
    with pytest.raises(subprocess.TimeoutExpired):
        # the grandchild holds no pipe of ours: only the group's kill ends it before its minute is up
        gpu_check.run_group(["sh", "-c", f"sleep 60 >/dev/null 2>&1 & echo $! > {pid_file}; wait"],
                            timeout=1.0, capture_output=True, text=True)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(grandchild)
