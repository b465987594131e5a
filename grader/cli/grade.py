"""``beras-grader grade``: one zip, or a folder of zips, in a sandbox."""

from __future__ import annotations

import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Optional

import typer

from grader.cli.shared import (
    EXIT_FAILED,
    EXIT_UNAVAILABLE,
    AssignmentsDir,
    Reference,
    RunSeed,
    Sandbox,
    fail,
    require_reference,
)


def resolve_release(assignment: str, assignments_dir: Path, reference: Path, scratch: Path):
    """An autograder folder as it is, or an assignment (name or folder) staged without the gate."""
    from grader.authoring.config import AssignmentConfigError
    from grader.authoring.release import stage_autograder
    from grader.authoring.released import ReleaseError, load_released

    path = Path(assignment)
    if path.is_dir() and (path / "test-ids.json").is_file():
        try:
            return load_released(path)
        except ReleaseError as error:
            fail(str(error))
    folder = path if path.is_dir() else assignments_dir / assignment
    if not (folder / "assignment.toml").is_file():
        fail(f"no assignment or autograder release at {assignment!r}: expected an autograder folder (from "
             f"`beras-grader release`) or an assignment folder with assignment.toml (looked in {folder})")
    require_reference(reference)
    try:
        return load_released(stage_autograder(folder, scratch, reference_package=reference))
    except AssignmentConfigError as error:
        fail("the assignment's configuration is invalid:\n" + "\n".join(error.problems))
    except ReleaseError as error:
        fail(str(error))


def grade_command(
    assignment: str = typer.Argument(..., help="Autograder folder (from `release`), or an assignment "
                                               "name/folder."),
    submission: Path = typer.Argument(..., exists=True,
                                      help="A submission zip, or a folder of zips to grade them all."),
    sandbox: Sandbox = "auto",
    json_out: Optional[Path] = typer.Option(None, "--json",
                                            help="Write the results JSON here (a folder, for a batch)."),
    csv_out: Optional[Path] = typer.Option(None, "--csv",
                                           help="Batch: the CSV summary (default: DIR/grades.csv)."),
    seed: RunSeed = None,
    jobs: int = typer.Option(1, min=1, max=32, help="Batch: grade this many zips at once."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the total, not the per-test table."),
    assignments_dir: AssignmentsDir = Path("assignments"),
    reference: Reference = Path("reference/beras"),
) -> None:
    """Grade a submission zip (or a folder of zips) in a sandbox and print the result.

    Exit status: 0 graded (whatever the score), 1 the zip was refused, 2 bad arguments,
    3 the grader failed (nothing scored).
    """
    from grader.result import ResultStatus
    from worker.grading.grade import grade_zip
    from worker.grading.report import format_table
    from worker.grading.results import write_results
    from worker.sandbox import SandboxUnavailable, choose_sandbox

    try:
        box = choose_sandbox(sandbox)
    except SandboxUnavailable as error:
        fail(str(error), EXIT_UNAVAILABLE)
    with tempfile.TemporaryDirectory(prefix="beras-grade-") as scratch:
        released = resolve_release(assignment, assignments_dir, reference, Path(scratch))
        if submission.is_dir():
            _grade_batch(released, submission, box, json_out, csv_out, seed, jobs)
            return
        result = grade_zip(released, submission, box, seed=seed)
    if json_out is not None:
        write_results(result, json_out)
    if quiet:
        typer.echo(f"{submission.name}: {result.status} {result.score:g}/{result.max_score:g}")
    else:
        typer.echo(format_table(result, submission.name))
    if result.status is ResultStatus.REJECTED:
        raise typer.Exit(EXIT_FAILED)
    if result.status is ResultStatus.ERROR:
        raise typer.Exit(EXIT_UNAVAILABLE)


def _grade_batch(released, folder: Path, box, json_dir: Path | None, csv_path: Path | None, seed,
                 jobs: int) -> None:
    from grader.result import BATCH_FAILURE_KEYS, GradeResult, ResultStatus
    from worker.grading.grade import grade_zip
    from worker.grading.report import csv_row, format_csv
    from worker.grading.results import write_results

    zips = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".zip")
    if not zips:
        fail(f"{folder} holds no .zip files")
    if json_dir is not None:
        if json_dir.exists() and not json_dir.is_dir():
            fail(f"--json {json_dir}: for a folder of zips give a folder (one JSON per zip)")
        json_dir.mkdir(parents=True, exist_ok=True)
    csv_path = csv_path or folder / "grades.csv"
    rows: dict[Path, dict] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool, typer.progressbar(
            length=len(zips), label=f"grading {len(zips)} submissions", file=sys.stderr) as bar:
        futures = {pool.submit(grade_zip, released, path, box, seed=seed): path for path in zips}
        for future in as_completed(futures):
            path = futures[future]
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - one submission's grader failure must not lose the batch
                result = GradeResult.not_graded(
                    f"Could not be graded: the grader failed ({type(error).__name__}: {error})",
                    BATCH_FAILURE_KEYS, seed=seed)
            rows[path] = csv_row(path.name, result)
            if json_dir is not None:
                write_results(result, json_dir / f"{path.stem}.json")
            bar.update(1)
    ordered = [rows[path] for path in zips]
    csv_path.write_text(format_csv(ordered))
    for row in ordered:
        typer.echo(f"{row['submission']:<40} {row['status']:<9} {row['score']:>8g} / {row['max_score']:g}"
                   + (f"  {row['message']}" if row["message"] else ""))
    typer.echo(f"wrote {csv_path}")
    if any(row["status"] == ResultStatus.ERROR for row in ordered):
        raise typer.Exit(EXIT_UNAVAILABLE)
