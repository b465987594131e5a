"""`make gpu-check`: on an NVIDIA GPU machine, CuPy for its CUDA, the CuPy tests, bench/gpu.py, GPU grading.

Steps, each under its own time limit and all within ``BUDGET_S`` (8 minutes):

1. ``gpu``: ``nvidia-smi`` must list a GPU; without one the check says so and exits 2 before it installs
   or creates anything.
2. ``env``: a virtual environment (``--venv``) that sees the launching interpreter's packages (a GPU
   image's PyTorch and CuPy are used as they are), with the project's missing dependencies added by pip.
3. ``cupy``: CuPy that sees the device; when it is missing, ``cupy-cudaNNx`` for the CUDA found (nvcc's
   toolkit, else the driver's with the ``ctk`` extra, which brings the CUDA libraries from the index).
4. ``torch``: whether PyTorch sees the GPU. It is never installed (a CUDA build is gigabytes, beyond the
   budget): without it the benchmark's torch column is skipped with a note.
5. ``tests``: every real-CuPy case of the suite (``-k "cupy and not standin"``) on the device.
6. ``bench``: ``bench/gpu.py --check``: beras on CuPy vs PyTorch CUDA vs beras on numpy.
7. ``grade``: beras-cnn's reference and planted-bug samples graded with ``--beras-backend cupy``
   (``bench/gpu_grade.py``).

Then one summary table. Exit status: 0 all passed, 1 a step failed, 2 no GPU (nothing was installed).
Offline machines: ``--wheels DIR`` installs from a folder of wheels only (``make gpu-wheels`` fills one).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 480
# Seconds each step may take at most (the remaining total budget caps each one too).
STEP_LIMITS_S = {"gpu": 15, "env": 120, "cupy": 120, "torch": 30, "tests": 150, "bench": 100, "grade": 150}
EXIT_NO_GPU = 2
# Test-only packages the check leaves out: the browser driver and the linter are not run here, and torch
# is used as the machine has it (see the module docstring).
NOT_INSTALLED = ("torch", "playwright", "ruff")
PYTEST_SELECTION = "cupy and not standin"
# What the GPU machines lent to this project hold already (the device tool's KINDS.md, image 'cuda'):
# ``--download-wheels`` leaves them out, so the wheels of the rest fit the 64 MiB that travels there.
ON_GPU_IMAGE = ("numpy", "scikit-learn", "pytest", "typer", "matplotlib", "jinja2", "markdown-it-py", "httpx",
                "pyyaml")
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                   "manylinux2014_x86_64", "manylinux1_x86_64")

Runner = Callable[..., subprocess.CompletedProcess]


class State(str, Enum):
    """How a step ended."""

    PASS = "pass"
    FAIL = "FAIL"
    SKIP = "skip"
    TIMEOUT = "TIMEOUT"


@dataclass
class Step:
    """One row of the summary table."""

    name: str
    state: State
    seconds: float
    detail: str


class NoGpu(Exception):
    """This machine has no usable NVIDIA GPU; the message says what was seen."""


@dataclass(frozen=True)
class Gpu:
    """What ``nvidia-smi`` (and ``nvcc``, when present) say about the machine."""

    names: tuple[str, ...]
    driver_cuda: str | None  # the newest CUDA the driver supports ("CUDA Version" in nvidia-smi)
    toolkit_cuda: str | None  # nvcc's release, when a toolkit is installed

    @property
    def cuda(self) -> str | None:
        """The CUDA version CuPy will run on: a local toolkit's, else the driver's."""
        return self.toolkit_cuda or self.driver_cuda


def parse_smi_cuda(text: str) -> str | None:
    """``"13.0"`` from nvidia-smi's header line ``... CUDA Version: 13.0 |``; None when absent."""
    match = re.search(r"CUDA Version:\s*(\d+\.\d+)", text)
    return match.group(1) if match else None


def parse_nvcc(text: str) -> str | None:
    """``"12.4"`` from ``nvcc --version`` (``Cuda compilation tools, release 12.4, V12.4.131``)."""
    match = re.search(r"release (\d+\.\d+)", text)
    return match.group(1) if match else None


def parse_gpu_list(text: str) -> tuple[str, ...]:
    """The GPU names of ``nvidia-smi -L`` (``GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)``)."""
    return tuple(m.group(1).strip() for m in re.finditer(r"^GPU \d+: (.+?)(?: \(UUID: [^)]*\))?$", text,
                                                            re.MULTILINE))


def cupy_package(cuda: str) -> str:
    """The CuPy wheel for a CUDA version: ``cupy-cuda11x`` (11.2-11.x), ``cupy-cuda12x``, ``cupy-cuda13x``.

    Raises:
        ValueError: for a version no CuPy wheel serves, or one that is not ``MAJOR.MINOR``.
    """
    match = re.fullmatch(r"(\d+)\.(\d+)", cuda.strip())
    if not match:
        raise ValueError(f"not a CUDA version: {cuda!r} (expected MAJOR.MINOR, e.g. '12.4')")
    major, minor = int(match.group(1)), int(match.group(2))
    if major in (12, 13) or (major == 11 and minor >= 2):
        return f"cupy-cuda{major}x"
    raise ValueError(f"no CuPy wheel for CUDA {cuda}: the wheels cover CUDA 11.2 to 13.x "
                     "(install CuPy from source for another version)")


def run_group(cmd: list[str], *, timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run`` in a process group of its own, the whole group killed at the timeout.

    A step's grandchildren (the judge and students of a grading run, pytest's) must not outlive their
    step and hold the GPU while the next one runs.
    """
    kwargs.pop("capture_output", None)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                          stdin=subprocess.DEVNULL, **kwargs) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(cmd, process.returncode, out, err)


def _call(run: Runner, cmd: Sequence[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return run(list(cmd), capture_output=True, text=True, timeout=timeout, **kwargs)


def detect_gpu(run: Runner = run_group) -> Gpu:
    """Ask ``nvidia-smi`` for the GPUs and the driver's CUDA, ``nvcc`` for a toolkit's.

    Raises:
        NoGpu: nvidia-smi is missing, fails (no driver) or lists no GPU.
    """
    try:
        listed = _call(run, ["nvidia-smi", "-L"], STEP_LIMITS_S["gpu"])
    except FileNotFoundError:
        raise NoGpu("nvidia-smi is not installed (no NVIDIA driver on this machine)") from None
    except subprocess.TimeoutExpired:
        raise NoGpu("nvidia-smi did not answer within its time limit") from None
    names = parse_gpu_list(listed.stdout)
    if listed.returncode != 0 or not names:
        said = (listed.stdout + listed.stderr).strip().splitlines()
        raise NoGpu(f"nvidia-smi lists no GPU (exit {listed.returncode}"
                    f"{': ' + said[0] if said else ''})")
    header = _call(run, ["nvidia-smi"], STEP_LIMITS_S["gpu"])
    try:
        toolkit = parse_nvcc(_call(run, ["nvcc", "--version"], STEP_LIMITS_S["gpu"]).stdout)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        toolkit = None
    return Gpu(names, parse_smi_cuda(header.stdout), toolkit)


def project_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The project's dependencies and test extras, less ``NOT_INSTALLED``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return [req for req in wanted if requirement_name(req) not in NOT_INSTALLED]


def requirement_name(req: str) -> str:
    """``"psycopg"`` from ``"psycopg[binary]>=3.1"``."""
    return re.split(r"[\[<>=!~ ;]", req, maxsplit=1)[0].lower()


def download_wheels(target: Path, python_version: str, run: Runner = subprocess.run) -> int:
    """Fetch (here, where the index is reachable) the wheels an offline GPU machine needs for ``--wheels``."""
    wanted = [req for req in project_requirements() if requirement_name(req) not in ON_GPU_IMAGE]
    platforms = [arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--only-binary=:all:", "--implementation", "cp", "--python-version", python_version, *platforms,
           "--dest", str(target), *wanted]
    return run(cmd).returncode


def format_table(steps: Sequence[Step], total_s: float, budget_s: float = BUDGET_S) -> str:
    """The summary: one row per step (name, state, seconds, detail), then the total against the budget."""
    name_w = max([len("step"), *(len(s.name) for s in steps)])
    lines = [f"{'step':<{name_w}}  {'state':<7}  {'seconds':>7}  detail",
             f"{'-' * name_w}  {'-' * 7}  {'-' * 7}  {'-' * 6}"]
    for step in steps:
        detail = step.detail.splitlines() or [""]
        lines.append(f"{step.name:<{name_w}}  {step.state.value:<7}  {step.seconds:>7.1f}  {detail[0]}")
        lines += [f"{'':<{name_w + 20}}{more}" for more in detail[1:]]
    verdict = "all passed" if all(s.state in (State.PASS, State.SKIP) for s in steps) else "FAILED"
    lines.append(f"total {total_s:.0f} s of a {budget_s:.0f} s budget: {verdict}")
    return "\n".join(lines)


def pytest_summary(output: str) -> str:
    """The last summary line of a pytest run (``3 passed, 1 skipped in 2.1s``), or its last line."""
    lines = [line.strip("= ") for line in output.strip().splitlines()]
    found = [line for line in lines if re.search(r"\d+ (passed|failed|error|skipped|deselected)", line)]
    return found[-1] if found else (lines[-1] if lines else "no output")


class Check:
    """The steps after the GPU was found: each runs a command under its limit and appends its row."""

    def __init__(self, venv: Path, wheels: Path | None, run: Runner = run_group,
                 budget_s: float = BUDGET_S) -> None:
        self.venv, self.wheels, self.run = venv, wheels, run
        self.python = str(venv / "bin" / "python")
        self.started, self.budget_s = time.monotonic(), budget_s
        self.steps: list[Step] = []
        # The orchestrating processes import the project from this checkout; the launcher's judge and
        # student get their own clean PYTHONPATH (grader.harness.launcher), so nothing of it leaks there.
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "reference")]),
                    "PYTHONUNBUFFERED": "1"}
        self.env.pop("BERAS_BACKEND", None)

    def left(self, name: str, start: float) -> float:
        """What step ``name`` (begun at ``start``) has left: its own limit, capped by the whole budget's."""
        now = time.monotonic()
        return max(1.0, min(STEP_LIMITS_S[name] - (now - start), self.budget_s - (now - self.started)))

    def command(self, name: str, cmd: Sequence[str],
                start: float | None = None) -> tuple[subprocess.CompletedProcess | None, float]:
        """Run ``cmd`` as (part of) step ``name``, begun at ``start`` (now if None); None (and the row
        written) when it ran past the step's limit."""
        start = time.monotonic() if start is None else start
        limit = self.left(name, start)
        try:
            done = _call(self.run, cmd, limit, env=self.env, cwd=ROOT)
        except subprocess.TimeoutExpired:
            self.add(name, State.TIMEOUT, start, f"stopped after {limit:.0f} s: {' '.join(cmd[:6])}")
            return None, start
        return done, start

    def add(self, name: str, state: State, start: float, detail: str) -> None:
        self.steps.append(Step(name, state, time.monotonic() - start, detail))

    def pip(self, *args: str) -> list[str]:
        source = ["--no-index", "--find-links", str(self.wheels)] if self.wheels else []
        return [self.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *source, *args]

    def make_env(self) -> bool:
        """The venv, seeing the launching interpreter's packages; the project's missing dependencies."""
        start = time.monotonic()
        if not (self.venv / "bin" / "python").exists():
            # --without-pip: the launching interpreter's pip serves (ensurepip may be missing, and offline)
            made, _ = self.command("env", [sys.executable, "-m", "venv", "--without-pip", str(self.venv)],
                                   start)
            if made is None or made.returncode != 0:
                return self._failed("env", made, start, "could not make the virtual environment")
        parents = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
        site, _ = self.command("env", [self.python, "-c",
                                       "import sysconfig; print(sysconfig.get_paths()['purelib'])"], start)
        if site is None or site.returncode != 0:
            return self._failed("env", site, start, "the virtual environment's python does not start")
        Path(site.stdout.strip(), "_gpu_check_parent.pth").write_text("\n".join(parents) + "\n")
        done, _ = self.command("env", self.pip(*project_requirements()), start)
        if done is None or done.returncode != 0:
            return self._failed("env", done, start, "pip could not install the project's dependencies")
        self.add("env", State.PASS, start, f"{self.venv} (sees {sys.executable}'s packages)")
        return True

    def _failed(self, name: str, done, start: float, what: str) -> bool:
        if done is not None:  # None: the timeout's row is written already
            tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
            self.add(name, State.FAIL, start, "\n".join([what, *tail]))
        return False

    def cupy(self, gpu: Gpu) -> bool:
        """CuPy that sees the device; installed for ``gpu.cuda`` when missing."""
        start = time.monotonic()
        probe = ("import cupy; r = cupy.cuda.runtime; "
                 "print(cupy.__version__, r.getDeviceCount(), r.runtimeGetVersion())")
        done, _ = self.command("cupy", [self.python, "-c", probe], start)
        if done is None:
            return False
        if done.returncode == 0:
            self.add("cupy", State.PASS, start, f"CuPy {done.stdout.strip()} (version, devices, runtime)")
            return True
        if gpu.cuda is None:
            self.add("cupy", State.FAIL, start,
                     "no CuPy, and neither nvidia-smi nor nvcc names a CUDA version")
            return False
        try:
            package = cupy_package(gpu.cuda)
        except ValueError as error:
            self.add("cupy", State.FAIL, start, str(error))
            return False
        extra = "[ctk]" if gpu.toolkit_cuda is None and package != "cupy-cuda11x" else ""
        done, _ = self.command("cupy", self.pip(package + extra), start)
        if done is None or done.returncode != 0:
            return self._failed("cupy", done, start, f"pip could not install {package}{extra}")
        done, _ = self.command("cupy", [self.python, "-c", probe], start)
        if done is None or done.returncode != 0:
            return self._failed("cupy", done, start, f"{package} installed but does not see the GPU")
        self.add("cupy", State.PASS, start, f"installed {package}{extra}: CuPy {done.stdout.strip()}")
        return True

    def torch(self) -> None:
        start = time.monotonic()
        probe = "import torch; print(torch.__version__, torch.cuda.is_available())"
        done, _ = self.command("torch", [self.python, "-c", probe])
        if done is None:
            return
        said = done.stdout.split()
        if done.returncode == 0 and said[-1:] == ["True"]:
            self.add("torch", State.PASS, start, f"PyTorch {said[0]} sees the GPU")
        else:
            self.add("torch", State.SKIP, start, "no CUDA PyTorch: bench/gpu.py skips its torch column, and "
                                                 "the CuPy tests that use torch as their oracle fail")

    def tests(self) -> None:
        start = time.monotonic()
        cmd = [self.python, "-m", "pytest", "tests", "-k", PYTEST_SELECTION, "-q", "-rfEs", "--tb=line",
               "-p", "no:cacheprovider", "-o", "addopts=", "--ignore=tests/browser",
               "--continue-on-collection-errors", "--basetemp", str(self.venv.parent / "pytest")]
        done, _ = self.command("tests", cmd)
        if done is not None:
            summary = pytest_summary(done.stdout + done.stderr)
            ok = done.returncode == 0 and " passed" in summary
            if not ok:  # each failure and skip on one line: a GPU session's time is short
                print("\n".join((done.stdout + done.stderr).splitlines()[-120:]), flush=True)
            self.add("tests", State.PASS if ok else State.FAIL, start,
                     f"pytest -k '{PYTEST_SELECTION}': {summary}")

    def script(self, name: str, argv: Sequence[str]) -> None:
        """Run a bench script, echo its output, and keep its lines that start with ``RESULT``."""
        start = time.monotonic()
        done, _ = self.command(name, [self.python, *argv])
        if done is None:
            return
        print(done.stdout + done.stderr, flush=True)
        kept = [line[len("RESULT "):] for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        detail = "\n".join(kept) or pytest_summary(done.stdout + done.stderr)
        self.add(name, State.PASS if done.returncode == 0 else State.FAIL, start, detail)

    def total(self) -> float:
        return time.monotonic() - self.started


def main(argv: Sequence[str] | None = None, run: Runner = run_group) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path("/tmp/beras-gpu-check/venv"),
                        help="the virtual environment to make or reuse (outside a home folder: the judge and "
                             "student uids must be able to read it)")
    parser.add_argument("--wheels", type=Path, default=None, help="install only from this folder of wheels")
    parser.add_argument("--download-wheels", type=Path, default=None, metavar="DIR",
                        help="only fetch into DIR the wheels an offline GPU machine needs (run where pip "
                             "works)")
    parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python, for the wheels")
    args = parser.parse_args(argv)
    if args.download_wheels:
        return download_wheels(args.download_wheels, args.python_version)
    started = time.monotonic()
    try:
        gpu = detect_gpu(run)
    except NoGpu as why:
        print(f"gpu-check: no NVIDIA GPU here: {why}. The GPU check needs one; nothing was installed.",
              file=sys.stderr)
        return EXIT_NO_GPU
    check = Check(args.venv, args.wheels, run)
    check.add("gpu", State.PASS, started, f"{', '.join(gpu.names)}; driver CUDA {gpu.driver_cuda}, "
                                          f"toolkit {gpu.toolkit_cuda or 'none'}")
    if check.make_env() and check.cupy(gpu):
        check.torch()
        check.tests()
        check.script("bench", ["bench/gpu.py", "--check"])
        check.script("grade", ["bench/gpu_grade.py", "--launcher-python", check.python])
    print("\n" + format_table(check.steps, time.monotonic() - started))
    return 0 if all(step.state in (State.PASS, State.SKIP) for step in check.steps) else 1


if __name__ == "__main__":
    raise SystemExit(main())
