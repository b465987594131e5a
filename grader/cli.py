"""The ``beras-grader`` command line (Typer)."""

from __future__ import annotations

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
    epochs_mlp: int = typer.Option(30, help="Training epochs for the MLP."),
    epochs_cnn: int = typer.Option(15, help="Training epochs for the CNN."),
    seed: int = typer.Option(0, help="Seed for weights, shuffling and shifts."),
) -> None:
    """Train the reference MLP and CNN on the bundled digits and report test accuracy."""
    from grader.demo.digits import run_demo

    run_demo(epochs_mlp=epochs_mlp, epochs_cnn=epochs_cnn, seed=seed)
