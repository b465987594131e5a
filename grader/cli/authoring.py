"""The authoring loop on the command line: ``new``, ``check``, ``release``, ``archive`` and ``delete``."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from grader.cli.shared import (
    EXIT_FAILED,
    EXIT_UNAVAILABLE,
    AssignmentArg,
    AssignmentsDir,
    Reference,
    RunSeed,
    assignment_folder,
    fail,
    require_reference,
)

ExistingAssignmentsDir = Annotated[Path, typer.Option(
    "--assignments-dir", exists=True, file_okay=False,
    help="Folder holding every assignment (run from the repository root, or pass it).")]


def release(
    assignment: AssignmentArg,
    out: Path = typer.Option(..., "--out", file_okay=False,
                             help="Folder for <name>-starter.zip and <name>-autograder/."),
    seed: RunSeed = None,
    assignments_dir: AssignmentsDir = Path("assignments"),
    reference: Reference = Path("reference/beras"),
    keep_stage: Optional[Path] = typer.Option(None, file_okay=False,
                                              help="Keep the staged release here, to inspect it."),
) -> None:
    """Run the release gate on an assignment and, if every check passes, write its release."""
    from grader.authoring.config import AssignmentConfigError
    from grader.authoring.release import release as do_release
    from grader.authoring.schedule import ReleaseOrderError

    folder = assignment_folder(assignment, assignments_dir)
    require_reference(reference)
    if keep_stage is not None and keep_stage.exists() and any(keep_stage.iterdir()):
        fail(f"--keep-stage {keep_stage} is not empty; give a new or empty folder")
    try:
        outcome = do_release(folder, out, reference_package=reference, seed=seed, stage_dir=keep_stage)
    except ReleaseOrderError as error:
        fail(f"{folder.name} cannot be released yet:\n" + "\n".join(error.problems))
    except AssignmentConfigError as error:
        fail("the assignment's configuration is invalid:\n" + "\n".join(error.problems))
    except OSError as error:
        fail(f"cannot write the release: {error}")
    typer.echo(outcome.report.format())
    if not outcome.report.ok:
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"wrote {outcome.starter_zip}\nwrote {outcome.autograder_dir}/ (version {outcome.version})")


def new_command(
    name: str = typer.Argument(..., help="The new assignment's name, e.g. beras-dropout."),
    owns: Optional[str] = typer.Option(None, "--owns", help="The file students write, inside the package "
                                                            "(default: layers/<name with _>.py)."),
    assignments_dir: ExistingAssignmentsDir = Path("assignments"),
    reference: Reference = Path("reference/beras"),
) -> None:
    """Write a valid assignment folder (toml, a public and a hidden test, a planted-bug sample, a README).

    When the owned file does not exist, a small marked layer is written there and exported from beras.
    """
    from grader.authoring.scaffold import ScaffoldError, create

    try:
        made = create(assignments_dir, reference, name, owns)
    except ScaffoldError as error:
        fail(str(error))
    for path in made.written:
        typer.echo(f"wrote {path}")
    typer.echo(f"\nnext: read {made.folder / 'README.md'}, then run `beras-grader check {name}`")


def check_command(
    assignment: AssignmentArg,
    seeds: int = typer.Option(3, "--seeds", min=1, max=20,
                              help="Grade the reference under this many seeds (flaky tests)."),
    sandbox: Literal["local", "docker", "auto"] = typer.Option(
        "auto", help="local, docker, or auto (docker when its daemon and image are ready)."),
    seed: Optional[int] = typer.Option(None, help="The first seed (default: random; printed to replay it)."),
    assignments_dir: AssignmentsDir = Path("assignments"),
    reference: Reference = Path("reference/beras"),
) -> None:
    """Fast feedback without publishing: config, points table, samples, the reference under N seeds.

    Exit status: 0 all is well, 1 something to fix (listed), 2 bad arguments, 3 no sandbox can run here.
    """
    from grader.authoring.check import check_config, verdict

    folder = assignment_folder(assignment, assignments_dir)
    require_reference(reference)
    with tempfile.TemporaryDirectory(prefix="beras-check-") as scratch:
        sections, staged = check_config(folder, reference, Path(scratch))
        if staged is not None:
            first = seed if seed is not None else secrets.randbits(31)
            sections += _graded(staged, folder, sandbox, first, seeds)
    report, ok = verdict(sections)
    typer.echo(report)
    raise typer.Exit(0 if ok else EXIT_FAILED)


def _graded(staged: Path, folder: Path, sandbox: str, first: int, seeds: int) -> list:
    """The check's graded sections: the samples under seed ``first``, the reference under ``seeds`` seeds."""
    from grader.authoring.check import Section, grade_sections
    from grader.authoring.released import ReleaseError, load_released
    from worker.grading.grade import grade_zip
    from worker.grading.samples import check_samples
    from worker.sandbox import SandboxUnavailable, choose_sandbox

    try:
        released = load_released(staged)
    except ReleaseError as error:
        return [Section("autograder", False, [str(error)])]
    try:
        box = choose_sandbox(sandbox)
    except SandboxUnavailable as error:
        fail(str(error), EXIT_UNAVAILABLE)
    batch, broken = check_samples(released, folder)

    def grade(zipped: bytes, run_seed: int) -> dict:
        return grade_zip(released, zipped, box, seed=run_seed)

    return grade_sections(batch, broken, grade, first, seeds)


def _published(settings) -> frozenset[str]:
    """The assignments the service's database says are published; none when this machine has no database."""
    from sqlalchemy.exc import SQLAlchemyError

    from grader.runtime import Runtime
    from grader.service.releases import published_names

    if not settings.database_url and not (settings.data_dir / "grader.db").is_file():
        return frozenset()
    try:
        with Runtime(settings).sessions() as session:
            return published_names(session)
    except SQLAlchemyError as error:
        fail(f"cannot read the database {settings.database} to learn what is published, so nothing is "
             f"deleted ({type(error).__name__}); set GRADER_DATABASE_URL or GRADER_DATA_DIR to the service's",
             EXIT_UNAVAILABLE)


def archive_command(
    name: str = typer.Argument(..., help="The assignment to archive."),
    assignments_dir: AssignmentsDir = Path("assignments"),
) -> None:
    """Move an assignment folder to assignments/.archive/NAME-<time> (move it back to restore it)."""
    from grader.service.assignment_folders import archive_assignment
    from grader.service.errors import ServiceError
    from grader.settings import Settings

    settings = Settings(assignments_dir=assignments_dir)
    try:
        target = archive_assignment(settings, name)
    except ServiceError as error:
        fail(error.message)
    typer.echo(f"archived {name}: {target} (move it back to {assignments_dir / name} to restore it)")


def delete_command(
    name: str = typer.Argument(..., help="The draft assignment to delete (never published)."),
    assignments_dir: AssignmentsDir = Path("assignments"),
) -> None:
    """Delete a draft assignment folder; a published one is refused (archive it instead)."""
    from grader.service.assignment_folders import delete_assignment
    from grader.service.errors import ServiceError
    from grader.settings import Settings

    settings = Settings(assignments_dir=assignments_dir)
    try:
        delete_assignment(settings, name, _published(settings))
    except ServiceError as error:
        fail(error.message)
    typer.echo(f"deleted {name}")
