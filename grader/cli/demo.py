"""``beras-grader demo`` (the main job, or a demo course with --serve) and ``train`` (the reference)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from grader.cli.shared import AssignmentsDir, Reference, Sandbox, fail


def demo(
    sandbox: Sandbox = "auto",
    seed: int = typer.Option(0, help="Seed of the gate's and the grading runs."),
    out: Optional[Path] = typer.Option(None, help="Keep the releases here (default: a temporary folder)."),
    full: bool = typer.Option(False, help="Print every row of each result table, passing tests included."),
    assignments_dir: AssignmentsDir = Path("assignments"),
    reference: Reference = Path("reference/beras"),
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
        fail(f"no assignments in {assignments_dir}; run from the repository root")
    if serve:
        from grader.demo.course import serve_demo

        raise typer.Exit(serve_demo(assignments_dir.resolve(), reference.resolve(), data_dir.resolve(),
                                    sandbox, host, port, seed))
    raise typer.Exit(run_main_job(assignments_dir, reference, out, sandbox, seed, full))


def train(
    epochs_mlp: int = typer.Option(30, help="Training epochs for the MLP."),
    epochs_cnn: int = typer.Option(15, help="Training epochs for the CNN."),
    seed: int = typer.Option(0, help="Seed for weights, shuffling and shifts."),
) -> None:
    """Train the reference MLP and CNN on the bundled digits and report test accuracy."""
    from grader.demo.digits import run_demo

    run_demo(epochs_mlp=epochs_mlp, epochs_cnn=epochs_cnn, seed=seed)
