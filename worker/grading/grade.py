"""grade_zip: one submission, from its zip to a checked grade result, through a sandbox."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from grader.authoring.released import Released
from grader.harness.jobspec import JUDGE_LOG, RESULTS_FILE, LauncherReport
from grader.harness.launcher import RECORDED
from grader.intake import IntakeError, IntakeLimits, read_submission
from grader.result import (
    AssignmentRef,
    Environment,
    GradeResult,
    Integrity,
    MissingGuarantee,
    Resources,
    ResultStatus,
    SandboxRef,
    SubmissionFiles,
)
from worker.grading import results as R
from worker.grading.job import prepare_job
from worker.sandbox import Guarantee, Sandbox, SandboxLimits, SandboxUnavailable

LOG_TAIL = 4000


def sandbox_limits(released: Released, gpu: bool = False) -> SandboxLimits:
    return SandboxLimits.from_table(released.assignment.limits, gpu=gpu)


def _base(released: Released, seed: int, sandbox: Sandbox | None,
          suites: tuple[str, ...] | None) -> GradeResult:
    """The result before anything ran: an error (never a zero) until the run says otherwise."""
    max_score = round(sum(released.points[t].points for t in R.selected_ids(released, suites)), 6)
    backend = sandbox.name if sandbox else None
    return GradeResult(max_score=max_score, status=ResultStatus.ERROR, seed=seed,
                       assignment=AssignmentRef(name=released.name, version=released.version),
                       integrity=Integrity(tamper_proof=False, note="not graded"),
                       sandbox=SandboxRef(backend=backend),
                       environment=Environment(backend=backend, image=getattr(sandbox, "image", None)))


def grade_zip(released: Released, source: bytes | os.PathLike[str], sandbox: Sandbox, *,
              seed: int | None = None, limits: SandboxLimits | None = None, work_root: Path | None = None,
              keep: Path | None = None, intake_limits: IntakeLimits | None = None, backend: str = "numpy",
              suites: tuple[str, ...] | None = None, call_timeout_s: float | None = None) -> GradeResult:
    """Grade one submission zip against a release in ``sandbox``; never raises for anything the zip holds.

    Args:
        released: the autograder release.
        source: the zip's bytes or path.
        sandbox: the backend to run in.
        seed: the run's seed (default: random; it is in the result, to replay the run).
        limits: override the assignment's limits.
        work_root: where job folders are made (default: the system's temp folder).
        keep: copy the job's output folder (logs, raw results) here, for a TA.
        intake_limits: caps on the zip.
        backend: ``numpy`` or ``cupy``.
        suites: run only these test folders or files (relative to the assignment folder); default: all.
        call_timeout_s: override the assignment's per-call limit.

    Returns:
        The grade result (``grader.result.GradeResult``). ``status`` is ``graded`` (whatever the
        score), ``rejected`` (the zip was refused: ``output`` says why) or ``error`` (the grader
        failed: ``output`` says so; the student is not given a zero).

    Raises:
        GpuUnavailable: ``limits.gpu`` and the sandbox cannot have a GPU on this machine (not the zip's
            doing: the job belongs on another worker).
    """
    seed = seed if seed is not None else secrets.randbits(31)
    result = _base(released, seed, sandbox, suites)
    started = time.monotonic()
    phases: dict[str, float] = {}
    try:
        intake = read_submission(source, released.assignment.files.owned, intake_limits or IntakeLimits())
    except IntakeError as error:
        return result.model_copy(update={"status": ResultStatus.REJECTED,
                                         "output": f"Your submission was not graded: {error}"})
    phases["intake_s"] = round(time.monotonic() - started, 4)
    result = result.model_copy(update={"submission": SubmissionFiles(
        taken=tuple(f"{intake.package}/{rel}" for rel in intake.files),
        missing=tuple(f"{intake.package}/{rel}" for rel in intake.missing),
        ignored=tuple(f"{name} ({why})" for name, why in intake.ignored)[:50],
        summary=intake.summary())})
    limits = limits or sandbox_limits(released)
    with tempfile.TemporaryDirectory(prefix="beras-job-", dir=work_root) as scratch:
        prepare_started = time.monotonic()
        job = prepare_job(released, intake, Path(scratch) / "run", seed=seed, backend=backend, suites=suites,
                          call_timeout_s=call_timeout_s)
        phases["prepare_s"] = round(time.monotonic() - prepare_started, 4)
        try:
            run = sandbox.run(job.job_dir, job.out_dir, limits)
        except SandboxUnavailable as error:
            return result.model_copy(update={
                "output": f"Could not be graded: the sandbox failed ({error}). Nothing was scored; "
                          "ask your TA to regrade.",
                "problems": (*result.problems, str(error)), "phases": phases})
        collect_started = time.monotonic()
        result = _collect(result, released, run, job.out_dir, limits, suites)
        if keep is not None:
            shutil.copytree(job.out_dir, keep, dirs_exist_ok=True)
        phases.update(result.phases)  # the launcher's, after intake's and prepare's as before
        phases.update({k: v for k, v in run.phases.items() if k != "prepare_s"})
        phases["sandbox_prepare_s"] = run.phases.get("prepare_s", 0.0)
        phases["collect_s"] = round(time.monotonic() - collect_started, 4) + run.phases.get("collect_s", 0.0)
    return result.model_copy(update={"phases": phases,
                                     "execution_time": round(time.monotonic() - started, 3)})


def _collect(result: GradeResult, released: Released, run, out_dir: Path, limits: SandboxLimits,
              suites: tuple[str, ...] | None) -> GradeResult:
    """``result`` with what the sandbox run left: integrity, resources, environment, and the tests."""
    read = LauncherReport.read(out_dir)
    # No launcher report (killed at the wall clock): the backend's own word stands.
    tamper_proof = run.tamper_proof and (read is None or bool(read.separate_uids))
    launcher = read or LauncherReport()  # without one, every figure is None: not reported
    note = run.integrity_note or launcher.why_not_separate or ""
    missing = {str(guarantee.value): why for guarantee, why in run.missing.items()}
    if not tamper_proof:
        missing.setdefault(Guarantee.SEPARATE_UIDS.value, note)
    integrity = Integrity(
        tamper_proof=tamper_proof,
        note=note or "judge and student ran under separate uids in an isolated sandbox",
        confined=not missing,
        missing=tuple(MissingGuarantee(guarantee=guarantee, why=why) for guarantee, why in missing.items()),
    )
    peak = launcher.cgroup_peak_memory_bytes
    max_rss_kb = launcher.max_rss_kb
    if run.usage.peak_memory_mb is not None:
        peak_mb = run.usage.peak_memory_mb
    else:
        peak_mb = round(peak / 2**20, 1) if peak else (round(max_rss_kb / 1024, 1) if max_rss_kb else None)
    # The backend's own reading first (the local sandbox reads the job's cgroup from outside), else what the
    # launcher read of its cgroup from inside (Docker), else the launcher's sum over the processes it reaped.
    # CPU seconds are the job's own either way: its cgroup's (which also sees orphans the sandbox's init
    # reaped), else the launcher's wait4 per process; never a figure of the whole worker process.
    applied = run.limits_applied or launcher.cgroup_limits
    applied = applied if isinstance(applied, dict) else {}
    cpu_s = next((v for v in (run.usage.cpu_s, launcher.cgroup_cpu_s, launcher.cpu_s)
                  if v is not None), None)
    resources = Resources(
        wall_s=run.usage.wall_s,
        cpu_s=round(cpu_s, 3) if isinstance(cpu_s, (int, float)) else None,
        peak_memory_mb=peak_mb,
        student_processes=launcher.students_started,
        student_output_bytes=launcher.student_output_bytes,
        oom_killed=run.oom_killed,
        memory_limit_mb=applied.get("memory_mb"),
        cpu_limit=applied.get("cpus"),
        pids_limit=applied.get("pids"),
    )
    result = result.model_copy(update={
        "integrity": integrity, "resources": resources, "environment": _environment(run, launcher),
        "phases": {f"launcher_{k}": v for k, v in (launcher.phases or {}).items()}})
    try:
        judge = R.read_judge_results(out_dir / RESULTS_FILE, released)
    except R.ResultsInvalid as error:
        detail = "the wall-clock limit was reached before any test ran" if run.timed_out else str(error)
        return result.model_copy(update={
            "output": f"Could not be graded: {detail}. Nothing was scored; ask your TA to regrade.",
            "problems": (*result.problems, str(error), "judge log: " + _tail(out_dir / JUDGE_LOG),
                         "sandbox log: " + run.log[-LOG_TAIL:])})
    crashed = None if judge.complete else launcher.judge_ended or "the judge stopped"
    unfinished = R.not_run_reason(run.timed_out, run.oom_killed, limits.wall_s, crashed)
    tests = R.build_tests(judge, released, unfinished, suites)
    score = round(sum(t.score for t in tests), 6)
    note = ("" if judge.complete
            else unfinished[1].removeprefix("not run: ").capitalize() + "; unfinished tests score 0.")
    if result.missing_files:
        note = (note + " " if note else "") + f"Missing from your zip: {', '.join(result.missing_files)}."
    return result.model_copy(update={
        "tests": tuple(tests), "score": score, "status": ResultStatus.GRADED, "complete": judge.complete,
        "problems": tuple(judge.problems),
        "output": R.summary_output(ResultStatus.GRADED, score, result.max_score, note)})


def _environment(run, launcher: LauncherReport) -> Environment:
    """Backend, image and the versions the launcher read inside the sandbox (None where it could not say)."""
    seen = launcher.environment
    seen = seen if isinstance(seen, dict) else {}
    versions = {name: seen.get(name) if isinstance(seen.get(name), str) else None
                for name in ("python", *RECORDED)}
    return Environment(backend=run.backend, image=run.image, read_in_sandbox=True, **versions)


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - LOG_TAIL))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""
