"""What every command shares: the exit statuses, ``fail()``, and the options several commands take."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

# Exit statuses, the same for every command: 0 done.
EXIT_FAILED = 1  # the work was done and said no: problems to fix, a refused zip, a service that cannot start
EXIT_USAGE = 2  # bad arguments (Typer's own checks exit 2 too)
EXIT_UNAVAILABLE = 3  # nothing could be graded: no sandbox runs here, the grader failed, no database to ask


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``; never a traceback.

    Raises:
        typer.Exit: always.
    """
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# Options shared by several commands: one name, one help text, each command gives its own default.
AssignmentsDir = Annotated[Path, typer.Option(help="Folder holding every assignment.")]
Reference = Annotated[Path, typer.Option(help="The marked reference package.")]
Sandbox = Annotated[str, typer.Option(help="docker, local, or auto (docker when its daemon and image are "
                                           "ready).")]
RunSeed = Annotated[Optional[int], typer.Option(help="Seed of the test runs (default: random; printed to "
                                                     "replay them).")]
LogLevel = Annotated[str, typer.Option(help="debug, info, warning or error.")]
AssignmentArg = Annotated[str, typer.Argument(help="Assignment name (a folder of --assignments-dir) or its "
                                                   "path.")]


def assignment_folder(assignment: str, assignments_dir: Path) -> Path:
    """The folder of ``assignment`` (a name inside ``assignments_dir``, or a path), which must hold a toml."""
    folder = Path(assignment) if "/" in assignment else assignments_dir / assignment
    if not (folder / "assignment.toml").is_file():
        fail(f"no assignment at {folder} (expected {folder / 'assignment.toml'}); run from the repository "
             "root or pass --assignments-dir")
    return folder


def require_reference(reference: Path) -> None:
    """Stop unless ``reference`` is a package (a folder with ``__init__.py``); Typer cannot check that."""
    if not (reference / "__init__.py").is_file():
        fail(f"no reference package at {reference} (expected {reference / '__init__.py'}); pass --reference")
