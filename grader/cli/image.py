"""``beras-grader image``: build the grading environment, write its Dockerfile, print its tag."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from grader.cli.shared import EXIT_UNAVAILABLE, fail

image_app = typer.Typer(help="The grading environment: its root file system and Docker image.",
                        no_args_is_help=True)


@image_app.command("build")
def image_build(
    mirror: str = typer.Option("http://deb.debian.org/debian",
                               help="Debian mirror debootstrap installs from."),
    force: bool = typer.Option(False, help="Rebuild the root file system (and image) even if they exist; not "
                                           "while workers of this machine grade on it."),
    docker: Literal["auto", "yes", "no"] = typer.Option(
        "auto", help="Import into Docker: auto (when a daemon answers), yes (fail without one) or no."),
) -> None:
    """Build the grading environment (grader/environment.py) once for every backend; no registry needed.

    Debootstraps Debian, installs the pinned wheels, checks the versions, keeps the root file
    system for the local backend, and imports it into Docker for the docker backend.
    """
    from worker.sandbox import SandboxUnavailable
    from worker.sandbox.docker import DockerSandbox
    from worker.sandbox.image import (
        build_rootfs,
        image_exists,
        image_tag,
        import_image,
        rootfs_dir,
        rootfs_ready,
    )

    try:
        if force or not rootfs_ready():
            build_rootfs(mirror=mirror, force=force, log=typer.echo)
        else:
            typer.echo(f"the root file system of {image_tag()} is already built ({rootfs_dir()})")
        if docker == "no":
            return
        try:
            client = DockerSandbox().client
        except SandboxUnavailable as why:
            if docker == "yes":
                raise
            typer.echo(f"not imported into Docker: {why}")
            return
        if not force and image_exists(client, image_tag()):
            typer.echo(f"{image_tag()} is already in Docker")
            return
        typer.echo(f"imported {import_image(client, log=typer.echo)}")
    except SandboxUnavailable as error:
        fail(str(error), EXIT_UNAVAILABLE)


@image_app.command("dockerfile")
def image_dockerfile(
    folder: Path = typer.Argument(..., file_okay=False,
                                  help="Where to write the Dockerfile (created if missing)."),
) -> None:
    """Write a Dockerfile of the grading environment, for hosts that can pull debian images."""
    from worker.sandbox.image import dockerfile, image_tag

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(dockerfile())
    typer.echo(f"wrote {folder / 'Dockerfile'}; build it with: docker build -t {image_tag()} {folder}")


@image_app.command("tag")
def image_tag_command() -> None:
    """Print the tag of the declared environment (a hash of grader/environment.py's declaration)."""
    from worker.sandbox.image import image_tag

    typer.echo(image_tag())
