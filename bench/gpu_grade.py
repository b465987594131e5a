"""The GPU check's grading step: beras-cnn's reference and planted-bug samples graded on the CuPy backend.

Each sample is graded as the worker grades it (``grade_zip`` with ``backend="cupy"``), but the launcher
runs on the host (``HostRun``), not in a sandbox: a GPU machine lent for a check has neither the sandbox
image nor Docker's NVIDIA runtime, and the samples are the course's own code, not a student's. The
reference must score full marks and each planted-bug sample lose exactly its declared groups, as the
release gate requires on numpy. Lines starting ``RESULT`` go into ``make gpu-check``'s table.
Usage: ``python bench/gpu_grade.py [--assignment beras-cnn] [--backend cupy] [--launcher-python PY]
[--same-uid]``.
"""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from grader.authoring.check import sample_line  # noqa: E402  (after the path set-up above)
from grader.authoring.release import stage_autograder  # noqa: E402
from grader.authoring.released import load_released  # noqa: E402
from grader.harness.jobspec import JUDGE_LOG, STUDENT_LOG, JobSpec  # noqa: E402
from worker.grading.grade import grade_zip, sandbox_limits  # noqa: E402
from worker.grading.samples import samples  # noqa: E402
from worker.sandbox.base import Sandbox, SandboxLimits, SandboxRun, SandboxUnavailable, Usage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOG_LINES = 25  # of the judge's and the student's log, shown for a sample that did not score as declared


class HostRun(Sandbox):
    """The launcher run directly on this machine: no isolation, for the course's own samples only.

    As root the launcher still runs judge and student under their own uids (unless ``same_uid``); the run
    is never called tamper-proof.
    """

    name = "host"

    def __init__(self, root: Path, python: str = sys.executable, same_uid: bool = False) -> None:
        self.root, self.python, self.same_uid = root, python, same_uid

    def check(self) -> None:
        """As root with separate uids, the judge and student uids must be able to start ``python``.

        Raises:
            SandboxUnavailable: a folder on its path is closed to other users (a venv in a home folder).
        """
        if os.geteuid() != 0 or self.same_uid:
            return
        for path in (Path(self.python).resolve(), *Path(self.python).resolve().parents):
            if not path.stat().st_mode & stat.S_IXOTH:
                raise SandboxUnavailable(
                    f"the judge and student uids cannot start {self.python}: {path} is closed to other "
                    "users; pass --launcher-python an interpreter outside private folders (make gpu-check "
                    "makes one under /tmp), or --same-uid")

    def run(self, job_dir: Path, out_dir: Path, limits: SandboxLimits) -> SandboxRun:
        self.check()
        if self.same_uid:
            replace(JobSpec.read(job_dir), separate_uids=False).write(job_dir)
        work = out_dir.parent / "work"
        work.mkdir(exist_ok=True)
        # As root the judge and student uids must pass through every folder above work/ and out/ (temporary
        # folders are private): the launcher guards the folders inside.
        for folder in [out_dir.parent, *out_dir.parent.parents]:
            if folder == self.root or self.root not in folder.parents:
                break
            folder.chmod(folder.stat().st_mode | 0o111)
        command = [self.python, "-s", "-m", "grader.harness.launcher", "--job", str(job_dir), "--out",
                   str(out_dir), "--work", str(work)]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "PYTHONPATH": str(job_dir / "lib"), "PYTHONDONTWRITEBYTECODE": "1"}
        started = time.monotonic()
        timed_out, exit_code, log = False, None, ""
        try:
            done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                                  timeout=limits.wall_s, stdin=subprocess.DEVNULL)
            exit_code, log = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as expired:
            timed_out = True
            log = str(expired.stdout or "")
        wall = time.monotonic() - started
        return SandboxRun(self.name, exit_code, timed_out, out_dir, log[-limits.log_kb * 1024:],
                          Usage(wall_s=round(wall, 3)), {"run_s": round(wall, 4)}, tamper_proof=False,
                          integrity_note="graded on the host by the GPU check, not in a sandbox")


def log_tails(folder: Path) -> list[str]:
    """The last ``LOG_LINES`` lines of the judge's and the student's logs in a kept output folder."""
    lines = []
    for name in (JUDGE_LOG, STUDENT_LOG):
        path = folder / name
        text = path.read_text(errors="replace").splitlines() if path.is_file() else ["(no log)"]
        lines += [f"--- {name}, last {LOG_LINES} lines", *text[-LOG_LINES:]]
    return lines


def grade_samples(assignment: str, backend: str, python: str, seed: int = 1,
                  same_uid: bool = False) -> tuple[list[str], bool]:
    """Grade every sample of ``assignment`` but the starter on ``backend``; a line each, and whether all
    scored as declared."""
    lines, ok = [], True
    with tempfile.TemporaryDirectory(prefix="beras-gpu-grade-") as scratch:
        os.chmod(scratch, 0o755)
        released = load_released(stage_autograder(ROOT / "assignments" / assignment, Path(scratch) / "stage",
                                                  reference_package=ROOT / "reference" / "beras"))
        box = HostRun(Path(scratch), python, same_uid)
        limits = sandbox_limits(released, gpu=backend == "cupy")
        for sample in samples(released):
            if sample.name == "starter":  # it raises NotImplementedError everywhere: no GPU code runs
                continue
            started = time.monotonic()
            kept = Path(scratch) / "logs" / sample.name
            result = grade_zip(released, sample.zip_bytes, box, seed=seed, limits=limits, backend=backend,
                               work_root=Path(scratch), keep=kept)
            good, line = sample_line(sample.name, sample.losing_groups, result)
            ok &= good
            lines.append(f"RESULT {'ok' if good else 'WRONG'} {line} ({time.monotonic() - started:.0f} s)")
            if not good:  # what a GPU session needs to see at once: its device time is short
                lines += [*result.problems, *log_tails(kept)]
    return lines, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="beras-cnn")
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="cupy")
    parser.add_argument("--launcher-python", default=sys.executable,
                        help="the interpreter judge and student run (it must import numpy, pytest, CuPy)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--same-uid", action="store_true", help="judge and student under this process's uid")
    args = parser.parse_args()
    lines, ok = grade_samples(args.assignment, args.backend, args.launcher_python, args.seed, args.same_uid)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
