"""The service's commands: ``serve`` (the API), ``worker`` (a Celery worker), ``reconcile``, ``users``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from grader.cli.shared import EXIT_FAILED, LogLevel, fail

users_app = typer.Typer(help="Accounts: add one (prints its API token) or import a roster CSV.",
                        no_args_is_help=True)


def _settings():
    """The GRADER_* settings, or a clear error naming the bad variable."""
    from pydantic import ValidationError

    from grader.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        fail("invalid GRADER_* setting: " + "; ".join(f"GRADER_{e['loc'][0]}".upper() + f": {e['msg']}"
                                                     for e in error.errors()))


def _runtime(settings=None):
    """The runtime over ``settings`` (default: read now), with the database migrated."""
    from worker.main import WorkerError, open_runtime  # the CLI composes the process

    try:
        return open_runtime(settings or _settings())
    except WorkerError as error:
        fail(str(error), error.code)


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


def serve_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    log_level: LogLevel = "info",
) -> None:
    """Serve the HTTP API; with no GRADER_BROKER_URL it also grades, in an in-process pool."""
    import uvicorn

    from grader.app import create_app
    from worker.main import open_queue

    _logging(log_level)
    runtime = _runtime()
    if not runtime.settings.broker_url:
        try:
            sandbox = runtime.sandbox()
        except Exception as error:  # noqa: BLE001
            fail(f"embedded mode grades here, but no sandbox can run: {error}", EXIT_FAILED)
        typer.echo(f"embedded mode: grading in-process with {runtime.settings.embedded_workers} worker(s), "
                   f"sandbox {sandbox.name}", err=True)
    # Only these proxies' X-Forwarded-Proto/-For are believed: the scheme decides an "auto" cookie's Secure.
    uvicorn.run(create_app(runtime, open_queue=open_queue), host=host, port=port, log_level=log_level,
                proxy_headers=True, forwarded_allow_ips=runtime.settings.forwarded_allow_ips)


def worker_command(
    queues: str = typer.Option("cpu,regrade",
                               help="Comma-separated queues to take jobs from: cpu, gpu, regrade."),
    concurrency: int = typer.Option(2, min=1, help="Jobs graded at once by this worker."),
    health_port: Optional[int] = typer.Option(None, help="Serve GET /healthz on this port (off by default)."),
    health_host: str = typer.Option("127.0.0.1", help="Address of the health endpoint."),
    log_level: LogLevel = "info",
) -> None:
    """Grade submissions from the broker (GRADER_BROKER_URL) in the sandbox (GRADER_SANDBOX)."""
    from worker.main import WorkerError, run_worker

    _logging(log_level)
    try:
        run_worker(_settings(), queues.split(","), concurrency, health_port, health_host, log_level)
    except WorkerError as error:
        fail(str(error), error.code)


def reconcile_command() -> None:
    """One reconciler pass: hand on jobs whose worker died and re-send queued ones a broker lost."""
    from worker.main import WorkerError, reconcile_once

    try:
        sent = reconcile_once(_settings())
    except WorkerError as error:
        fail(str(error), error.code)
    typer.echo(f"re-sent {len(sent)} submission(s)" + (f": {', '.join(map(str, sent))}" if sent else ""))


@users_app.command("add")
def users_add(
    email: str = typer.Argument(..., help="The user's email address (their login)."),
    role: str = typer.Option("student", help="student, ta or instructor."),
    name: str = typer.Option("", help="Display name."),
) -> None:
    """Add a user and print their API token (shown once; only its hash is stored)."""
    from grader.service.errors import ServiceError
    from grader.service.users import add_user

    runtime = _runtime()
    with runtime.sessions() as session:
        try:
            _, token = add_user(session, email, role, name)
        except ServiceError as error:
            fail(error.message)
    typer.echo(token)


@users_app.command("import")
def users_import(
    roster: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="CSV with columns email, role (and optionally name)."),
) -> None:
    """Add or update users from a roster CSV; new users' tokens are printed as CSV (email,role,token)."""
    from grader.service.errors import ServiceError
    from grader.service.users import import_roster

    try:
        text = roster.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {roster}: {error}")
    runtime = _runtime()
    with runtime.sessions() as session:
        try:
            outcome = import_roster(session, text)
        except ServiceError as error:
            fail(error.message)
    typer.echo("email,role,token")
    for email, role, token in outcome.added:
        typer.echo(f"{email},{role},{token}")
    typer.echo(f"added {len(outcome.added)}, updated {len(outcome.updated)}, "
               f"unchanged {len(outcome.unchanged)}", err=True)
