"""The ``beras-grader`` command line (Typer): builds ``app`` and registers each verb group's commands."""

from __future__ import annotations

import typer

from grader import __version__
from grader.cli import authoring, demo, grade, image, service, similarity

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


# In the order `--help` lists them.
app.command()(demo.demo)
app.command("train")(demo.train)
app.command()(authoring.release)
app.command("grade")(grade.grade_command)
app.command("similarity")(similarity.similarity_command)
app.add_typer(image.image_app, name="image")
app.command("serve")(service.serve_command)
app.command("worker")(service.worker_command)
app.command("reconcile")(service.reconcile_command)
app.add_typer(service.users_app, name="users")
app.command("new")(authoring.new_command)
app.command("check")(authoring.check_command)
app.command("archive")(authoring.archive_command)
app.command("delete")(authoring.delete_command)
