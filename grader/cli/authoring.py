"""The authoring loop on the command line: ``new``, ``check``, ``archive`` and ``delete`` an assignment."""

from __future__ import annotations

import json
import secrets
import tempfile
from pathlib import Path
from typing import Optional

import typer

EXIT_PROBLEMS, EXIT_USAGE = 1, 2
_SANDBOXES = ("local", "docker", "auto")


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _folder(assignment: str, assignments_dir: Path) -> Path:
    folder = Path(assignment) if "/" in assignment else assignments_dir / assignment
    if not (folder / "assignment.toml").is_file():
        _fail(f"no assignment at {folder} (expected {folder / 'assignment.toml'}); run from the repository root "
              "or pass --assignments-dir")
    return folder


def new_command(
    name: str = typer.Argument(..., help="The new assignment's name, e.g. beras-dropout."),
    owns: Optional[str] = typer.Option(None, "--owns", help="The file students write, inside the package "
                                                            "(default: layers/<name with _>.py)."),
    assignments_dir: Path = typer.Option(Path("assignments"), help="Folder holding every assignment."),
    reference: Path = typer.Option(Path("reference/beras"), help="The marked reference package."),
) -> None:
    """Write a valid assignment folder (toml, a public and a hidden test, a planted-bug sample, a README).

    When the owned file does not exist, a small marked layer is written there and exported from beras.
    """
    from grader.authoring.scaffold import ScaffoldError, create

    if not assignments_dir.is_dir():
        _fail(f"no folder of assignments at {assignments_dir}; run from the repository root or pass "
              "--assignments-dir")
    try:
        made = create(assignments_dir, reference, name, owns)
    except ScaffoldError as error:
        _fail(str(error))
    for path in made.written:
        typer.echo(f"wrote {path}")
    typer.echo(f"\nnext: read {made.folder / 'README.md'}, then run `beras-grader check {name}`")


def check_command(
    assignment: str = typer.Argument(..., help="Assignment name (a folder of --assignments-dir) or its path."),
    seeds: int = typer.Option(3, "--seeds", help="Grade the reference under this many seeds (flaky tests)."),
    sandbox: str = typer.Option("auto", help="local, docker, or auto (docker when its daemon and image are ready)."),
    seed: Optional[int] = typer.Option(None, help="The first seed (default: random; printed to replay it)."),
    assignments_dir: Path = typer.Option(Path("assignments"), help="Folder holding every assignment."),
    reference: Path = typer.Option(Path("reference/beras"), help="The marked reference package."),
) -> None:
    """Fast feedback without publishing: the config, the points table, the samples, the reference under N seeds.

    Exit status: 0 all is well, 1 something to fix (listed), 2 bad arguments, 3 no sandbox can run here.
    """
    from grader.authoring.build import ownership
    from grader.authoring.check import Section, flaky_tests, points_table, sample_line
    from grader.authoring.config import AssignmentConfigError, load_assignment
    from grader.authoring.release import stage_autograder
    from grader.authoring.released import ReleaseError, load_released
    from worker.grading.grade import grade_zip
    from worker.sandbox import SandboxUnavailable, choose_sandbox

    if seeds < 1 or seeds > 20:
        _fail(f"--seeds {seeds}: expected a number of runs from 1 to 20")
    if sandbox not in _SANDBOXES:
        _fail(f"--sandbox {sandbox!r}: expected one of {', '.join(_SANDBOXES)}")
    folder = _folder(assignment, assignments_dir)
    if not (reference / "__init__.py").is_file():
        _fail(f"no reference package at {reference} (expected {reference / '__init__.py'}); pass --reference")
    sections: list[Section] = []

    def done() -> None:
        typer.echo("\n".join(section.format() for section in sections))
        failed = [section.title for section in sections if not section.ok]
        typer.echo(f"\ncheck: {'fix: ' + '; '.join(failed) if failed else 'all well'}")
        raise typer.Exit(EXIT_PROBLEMS if failed else 0)

    try:
        loaded = load_assignment(folder, reference_root=reference)
    except AssignmentConfigError as error:
        sections.append(Section("config", False, list(error.problems)))
        done()
    with tempfile.TemporaryDirectory(prefix="beras-check-") as scratch:
        try:
            staged = stage_autograder(folder, Path(scratch), reference_package=reference)
        except AssignmentConfigError as error:
            sections.append(Section("config", False, list(error.problems)))
            done()
        # Other folders' problems do not stop this assignment; say what they are, as the gate's notes do.
        others = ownership(folder.parent, reference, loaded.name).notes
        sections.append(Section(f"config ({loaded.name})", True, [f"owned: {', '.join(loaded.files.owned)}",
                                                                 *(f"note: {note}" for note in others)]))
        test_ids = json.loads((staged / "test-ids.json").read_text())
        table = points_table(loaded, test_ids)
        sections.append(table)
        if not table.ok:
            done()
        try:
            released = load_released(staged)
        except ReleaseError as error:
            sections.append(Section("autograder", False, [str(error)]))
            done()
        try:
            box = choose_sandbox(sandbox)
        except SandboxUnavailable as error:
            _fail(str(error), 3)
        first = seed if seed is not None else secrets.randbits(31)
        batch, broken = _samples(released, folder)
        if broken:
            sections.append(Section("samples/*.toml", False, broken))
        run_seeds = [(first + i) % 2**31 for i in range(seeds)]
        reference_runs = []
        sample_section = Section(f"samples (seed {first})", True)
        for sample in batch:
            result = grade_zip(released, sample.zip_bytes, box, seed=first)
            if sample.name == "reference":
                reference_runs.append((first, result))
            ok, line = sample_line(sample.name, sample.losing_groups, result)
            sample_section.ok &= ok
            sample_section.lines.append(line)
        if len(batch) <= 2:
            sample_section.lines.append("no samples/*.toml: plant a bug per group to see that its tests catch it")
        sections.append(sample_section)
        reference_zip = batch[0].zip_bytes
        for run_seed in run_seeds[1:]:
            reference_runs.append((run_seed, grade_zip(released, reference_zip, box, seed=run_seed)))
        flaky = flaky_tests(reference_runs)
        unsteady = Section(f"reference under {seeds} seed(s) ({', '.join(map(str, run_seeds))})", not flaky)
        unsteady.lines = flaky or ["every test has the same outcome under every seed"]
        if flaky:
            unsteady.lines.append("seed Beras's generator in the test (student.beras.set_seed(seed), and the "
                                  "reference's), and draw inputs from the `rng` fixture")
        sections.append(unsteady)
    done()


def _samples(released, folder: Path) -> tuple[list, list[str]]:
    """The reference, the untouched starter and each planted-bug sample of ``folder``; the broken samples' errors.

    Built here rather than by ``samples()``: one stale sample must not hide the others, and its error names the
    file in the assignment folder, not in the staged copy.
    """
    from worker.grading.samples import Sample, SampleError, build_zip, planted, reference_files

    owned = released.assignment.files.owned
    batch = [Sample("reference", "the reference solution", build_zip(
                 {f"beras/{rel}": text for rel, text in reference_files(released).items()}), ()),
             Sample("starter", "the untouched starter", build_zip(
                 {f"beras/{rel}": (released.starter / rel).read_text() for rel in owned}), None)]
    broken = []
    for path in sorted((folder / "samples").glob("*.toml")) if (folder / "samples").is_dir() else []:
        try:
            batch.append(planted(released, path))
        except SampleError as error:
            broken.append(str(error))
    return batch, broken


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
        _fail(f"cannot read the database {settings.database} to learn what is published, so nothing is deleted "
              f"({type(error).__name__}); set GRADER_DATABASE_URL or GRADER_DATA_DIR to the service's", 3)


def archive_command(
    name: str = typer.Argument(..., help="The assignment to archive."),
    assignments_dir: Path = typer.Option(Path("assignments"), help="Folder holding every assignment."),
) -> None:
    """Move an assignment folder to assignments/.archive/NAME-<time> (move it back to restore it)."""
    from grader.service.assignment_folders import archive_assignment
    from grader.service.errors import ServiceError
    from grader.settings import Settings

    settings = Settings(assignments_dir=assignments_dir)
    try:
        target = archive_assignment(settings, name)
    except ServiceError as error:
        _fail(error.message)
    typer.echo(f"archived {name}: {target} (move it back to {assignments_dir / name} to restore it)")


def delete_command(
    name: str = typer.Argument(..., help="The draft assignment to delete (never published)."),
    assignments_dir: Path = typer.Option(Path("assignments"), help="Folder holding every assignment."),
) -> None:
    """Delete a draft assignment folder; a published one is refused (archive it instead)."""
    from grader.service.assignment_folders import delete_assignment
    from grader.service.errors import ServiceError
    from grader.settings import Settings

    settings = Settings(assignments_dir=assignments_dir)
    try:
        delete_assignment(settings, name, _published(settings))
    except ServiceError as error:
        _fail(error.message)
    typer.echo(f"deleted {name}")
