"""The ``beras-grader`` command line (Typer)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from grader import __version__

app = typer.Typer(
    name="beras-grader",
    help="Autograder and assignment service for the Beras deep-learning course.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"beras-grader {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Beras Grader."""


@app.command()
def demo(
    sandbox: str = typer.Option("auto", help="docker, local, or auto (the best this machine has)."),
    seed: int = typer.Option(0, help="Seed of the gate's and the grading runs."),
    out: Optional[Path] = typer.Option(None, help="Keep the releases here (default: a temporary folder)."),
    full: bool = typer.Option(False, help="Print every row of each result table, passing tests included."),
    assignments_dir: Path = typer.Option(Path("assignments"), help="Folder holding every assignment."),
    reference: Path = typer.Option(Path("reference/beras"), help="The marked reference package."),
    serve: bool = typer.Option(False, "--serve", help="Seed a demo course and serve the web pages on it."),
    host: str = typer.Option("127.0.0.1", help="With --serve: the address to listen on."),
    port: int = typer.Option(8000, help="With --serve: the port to listen on."),
    data_dir: Path = typer.Option(Path(".beras-demo"), help="With --serve: the demo course's data folder."),
) -> None:
    """The main job: release both assignments, then grade the reference, the starter and a planted-bug sample.

    With --serve: seed a demo course (roster, both assignments released, graded samples) and serve it.
    """
    from grader.demo.main_job import run_main_job

    if not (assignments_dir / "beras-mlp" / "assignment.toml").is_file():
        typer.echo(f"error: no assignments in {assignments_dir}; run from the repository root", err=True)
        raise typer.Exit(2)
    if serve:
        from grader.demo.course import serve_demo

        raise typer.Exit(serve_demo(assignments_dir.resolve(), reference.resolve(), data_dir.resolve(), sandbox,
                                    host, port, seed))
    raise typer.Exit(run_main_job(assignments_dir, reference, out, sandbox, seed, full))


@app.command("train")
def train(
    epochs_mlp: int = typer.Option(30, help="Training epochs for the MLP."),
    epochs_cnn: int = typer.Option(15, help="Training epochs for the CNN."),
    seed: int = typer.Option(0, help="Seed for weights, shuffling and shifts."),
) -> None:
    """Train the reference MLP and CNN on the bundled digits and report test accuracy."""
    from grader.demo.digits import run_demo

    run_demo(epochs_mlp=epochs_mlp, epochs_cnn=epochs_cnn, seed=seed)


@app.command()
def release(
    assignment: str = typer.Argument(..., help="Assignment name (a folder of --assignments-dir) or its path."),
    out: Path = typer.Option(..., "--out", help="Folder for <name>-starter.zip and <name>-autograder/."),
    seed: Optional[int] = typer.Option(None, help="Seed of the gate's test runs (default: random)."),
    assignments_dir: Path = typer.Option(Path("assignments"), help="Folder holding every assignment."),
    reference: Path = typer.Option(Path("reference/beras"), help="The marked reference package."),
    keep_stage: Optional[Path] = typer.Option(None, help="Keep the staged release here, to inspect it."),
) -> None:
    """Run the release gate on an assignment and, if every check passes, write its release."""
    from grader.authoring.config import AssignmentConfigError
    from grader.authoring.release import release as do_release
    from grader.authoring.schedule import ReleaseOrderError

    folder = Path(assignment) if "/" in assignment or Path(assignment).is_absolute() else assignments_dir / assignment
    if not (folder / "assignment.toml").is_file():
        typer.echo(f"error: no assignment at {folder} (expected {folder / 'assignment.toml'}); "
                   "run from the repository root or pass --assignments-dir", err=True)
        raise typer.Exit(2)
    if not (reference / "__init__.py").is_file():
        typer.echo(f"error: no reference package at {reference} (expected {reference / '__init__.py'}); "
                   "pass --reference", err=True)
        raise typer.Exit(2)
    if out.exists() and not out.is_dir():
        typer.echo(f"error: --out {out} is a file; expected a folder (it is created if missing)", err=True)
        raise typer.Exit(2)
    if keep_stage is not None and keep_stage.exists() and any(keep_stage.iterdir()):
        typer.echo(f"error: --keep-stage {keep_stage} is not empty; give a new or empty folder", err=True)
        raise typer.Exit(2)
    try:
        outcome = do_release(folder, out, reference_package=reference, seed=seed, stage_dir=keep_stage)
    except ReleaseOrderError as error:
        typer.echo(f"error: {folder.name} cannot be released yet:\n" + "\n".join(error.problems), err=True)
        raise typer.Exit(2) from None
    except AssignmentConfigError as error:
        typer.echo("error: the assignment's configuration is invalid:\n" + "\n".join(error.problems), err=True)
        raise typer.Exit(2) from None
    except OSError as error:
        typer.echo(f"error: cannot write the release: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(outcome.report.format())
    if not outcome.report.ok:
        raise typer.Exit(1)
    typer.echo(f"wrote {outcome.starter_zip}\nwrote {outcome.autograder_dir}/ (version {outcome.version})")


from grader.cli_grade import grade_command, image_app  # noqa: E402  (registered after the app exists)

app.command("grade")(grade_command)
app.add_typer(image_app, name="image")

from grader.cli_service import reconcile_command, serve_command, users_app, worker_command  # noqa: E402

app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.command("reconcile")(reconcile_command)
app.add_typer(users_app, name="users")

from grader.cli_authoring import archive_command, check_command, delete_command, new_command  # noqa: E402

app.command("new")(new_command)
app.command("check")(check_command)
app.command("archive")(archive_command)
app.command("delete")(delete_command)
