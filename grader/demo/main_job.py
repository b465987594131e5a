"""The product's main job on embedded defaults (SQLite, the in-process pool): release the assignments, grade
samples."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from grader.result import GradeResult, ResultStatus
from grader.settings import Settings
from worker.runtime import WorkerRuntime

ASSIGNMENTS = ("beras-mlp", "beras-cnn")  # the course's first two, in the order they are released


def demo_assignments(assignments_dir: Path) -> list[str]:
    """The course's two assignments, then every other folder that ships samples (a new one is demoed too)."""
    from grader.authoring.config import discover_assignments

    found = discover_assignments(assignments_dir)
    return [name for name in ASSIGNMENTS if name in found] + [
        name for name, folder in found.items() if name not in ASSIGNMENTS and (folder / "samples").is_dir()]


def run_main_job(assignments_dir: Path, reference: Path, out: Path | None, sandbox_name: str, seed: int,
                 full_tables: bool) -> int:
    """Release, then grade each sample; return 0 when every release passed and every sample scored as
    expected."""
    from grader.authoring.release import release
    from grader.authoring.released import load_released
    from worker.grading.report import format_table
    from worker.grading.samples import lost_groups, samples

    surprises = []
    with tempfile.TemporaryDirectory(prefix="beras-demo-") as scratch:
        out = out or Path(scratch)
        runtime = open_embedded(Settings(data_dir=Path(scratch) / "data", sandbox=sandbox_name))
        if runtime is None:
            return 3
        names = demo_assignments(assignments_dir)
        for name in names:
            typer.echo(f"\n=== release {name} (the gate runs both suites against the reference, the stub and "
                       "degenerate submissions) ===")
            outcome = release(assignments_dir / name, out, reference_package=reference, seed=seed)
            typer.echo(outcome.report.format())
            if not outcome.report.ok:
                surprises.append(f"{name}: the release gate refused it")
                continue
            released = load_released(outcome.autograder_dir)
            batch = samples(released)
            results = _grade_through_service(runtime, outcome, name, batch)
            for sample, result in zip(batch, results):
                typer.echo(f"\n=== grade {name}: {sample.name} ({sample.description}) ===")
                table = format_table(result, f"{sample.name}.zip")
                lines = table.splitlines()
                if not full_tables:  # the passing rows of a long table say little: keep the others
                    lines = [line for line in lines if not line.startswith("ok ")]
                typer.echo("\n".join(lines))
                lost = lost_groups(result)
                if sample.losing_groups is None:
                    expected_ok = result.graded and result.score == 0
                else:
                    planted = sample.losing_groups
                    expected_ok = result.graded and sorted(lost) == sorted(planted)
                    verdict = "as planted" if expected_ok else "NOT as planted: " + ", ".join(planted)
                    typer.echo(f"groups that lost points: {', '.join(lost) or 'none'} ({verdict})")
                if not expected_ok:
                    surprises.append(f"{name}/{sample.name}: scored {result.score:g}, not as expected")
        runtime.dispatcher.close()
    typer.echo("")
    if surprises:
        typer.echo("demo: unexpected outcomes:\n  " + "\n  ".join(surprises), err=True)
        return 1
    typer.echo(f"demo: {', '.join(names)} released; every sample scored as expected "
               "(reference full marks, starter 0, planted bugs cost exactly their groups)")
    return 0


def open_embedded(settings: Settings) -> WorkerRuntime | None:
    """The service's embedded mode on ``settings``: the database migrated, the sandbox checked, an in-process
    pool of two graders attached; None (the reason printed) when no sandbox can run here."""
    from worker.queue.dispatch import EmbeddedDispatcher
    from worker.sandbox import SandboxUnavailable

    runtime = WorkerRuntime(settings.model_copy(update={"embedded_workers": 2}))
    runtime.migrate()
    try:
        sandbox = runtime.sandbox()
    except SandboxUnavailable as error:
        typer.echo(f"error: {error}", err=True)
        return None
    typer.echo(f"sandbox: {sandbox.name}; database: {runtime.settings.database}; queue: in-process")
    runtime.dispatcher = EmbeddedDispatcher(runtime)
    return runtime


def _grade_through_service(runtime: WorkerRuntime, outcome, name: str, batch) -> list[GradeResult]:
    """Publish the release, submit each sample as its own student, and wait for the pool to grade them all."""
    import time

    from grader.db import WAITING, Submission
    from grader.service.releases import publish
    from grader.service.submissions import accept, first_open
    from grader.service.users import add_user

    ids = []
    with runtime.sessions() as session:
        version = publish(session, runtime.blobs, outcome.autograder_dir, outcome.starter_zip)
        when = first_open(version)  # an assignment that opens later takes submissions from then
        for sample in batch:
            student, _ = add_user(session, f"{sample.name}@{name}.demo", "student")
            submission = accept(session, runtime.blobs, student, name, sample.zip_bytes, f"{sample.name}.zip",
                                runtime.settings.max_upload_bytes, now=when)
            ids.append((submission.id, submission.queue))
    for submission_id, queue in ids:
        runtime.dispatcher.enqueue(submission_id, queue)
    results = []
    for submission_id, _ in ids:
        while True:
            with runtime.sessions() as session:
                row = session.get(Submission, submission_id)
                if row.status not in WAITING:
                    if row.current_result is not None:
                        results.append(GradeResult.from_json(row.current_result.data))  # parsed once, here
                    else:
                        results.append(GradeResult(status=ResultStatus.ERROR,
                                                   output=row.failure_reason or ""))
                    break
            time.sleep(0.2)
    return results
