"""The product's main job on embedded defaults: release both assignments, then grade their sample submissions."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

ASSIGNMENTS = ("beras-mlp", "beras-cnn")


def run_main_job(assignments_dir: Path, reference: Path, out: Path | None, sandbox_name: str, seed: int,
                 full_tables: bool) -> int:
    """Release, then grade each sample; return 0 when every release passed and every sample scored as expected."""
    from grader.authoring.release import release
    from worker.grading.grade import grade_zip
    from worker.grading.released import load_released
    from worker.grading.report import format_table
    from worker.grading.samples import lost_groups, samples
    from worker.sandbox import SandboxUnavailable, choose_sandbox

    try:
        sandbox = choose_sandbox(sandbox_name)
    except SandboxUnavailable as error:
        typer.echo(f"error: {error}", err=True)
        return 3
    typer.echo(f"sandbox: {sandbox.name}")
    surprises = []
    with tempfile.TemporaryDirectory(prefix="beras-demo-") as scratch:
        out = out or Path(scratch)
        for name in ASSIGNMENTS:
            typer.echo(f"\n=== release {name} (the gate runs both suites against the reference and the stub) ===")
            outcome = release(assignments_dir / name, out, reference_package=reference, seed=seed)
            typer.echo(outcome.report.format())
            if not outcome.report.ok:
                surprises.append(f"{name}: the release gate refused it")
                continue
            released = load_released(outcome.autograder_dir)
            for sample in samples(released):
                typer.echo(f"\n=== grade {name}: {sample.name} ({sample.description}) ===")
                result = grade_zip(released, sample.zip_bytes, sandbox, seed=seed)
                table = format_table(result, f"{sample.name}.zip")
                lines = table.splitlines()
                if not full_tables:  # the passing rows of a long table say little: keep the others
                    lines = [line for line in lines if not line.startswith("ok ")]
                typer.echo("\n".join(lines))
                lost = lost_groups(result)
                if sample.losing_groups is None:
                    expected_ok = result["status"] == "graded" and result["score"] == 0
                else:
                    expected_ok = result["status"] == "graded" and sorted(lost) == sorted(sample.losing_groups)
                    typer.echo(f"groups that lost points: {', '.join(lost) or 'none'} "
                               f"({'as planted' if expected_ok else 'NOT as planted: ' + ', '.join(sample.losing_groups)})")
                if not expected_ok:
                    surprises.append(f"{name}/{sample.name}: scored {result['score']:g}, not as expected")
    typer.echo("")
    if surprises:
        typer.echo("demo: unexpected outcomes:\n  " + "\n  ".join(surprises), err=True)
        return 1
    typer.echo("demo: both assignments released; every sample scored as expected "
               "(reference full marks, starter 0, planted bugs cost exactly their groups)")
    return 0
