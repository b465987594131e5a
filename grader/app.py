"""create_app: the application composed: JSON API, pages, their guards and error handlers, the queue."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from grader import __version__
from grader.api.headers import SecurityHeaders
from grader.api.health import HealthCheck
from grader.api.routes import ROUTERS
from grader.errors import add_error_handlers
from grader.http.bodies import BodyLimit
from grader.http.inflight import InFlight
from grader.http.throttle import Throttle
from grader.runtime import Runtime
from grader.service.gates import fail_interrupted_gates
from grader.web.app import mount_pages
from grader.web.csrf import CsrfGuard

# What the composition gives the app to open its queue: (runtime, background) -> what to call on stop.
QueueOpener = Callable[[Runtime, bool], Callable[[], None]]


def create_app(runtime: Runtime | None = None, *, background: bool = True,
               open_queue: QueueOpener | None = None) -> FastAPI:
    """The application over ``runtime`` (default: from the environment): the JSON API and the pages.

    On start it migrates the database, ends the gate runs the last stop interrupted and opens the queue with
    ``open_queue`` (the composition's ``worker.main.open_queue``: Celery when a broker is set, else an
    in-process pool; with ``background``, the reconciler too, so nothing queued is ever forgotten). Without
    ``open_queue``, ``runtime`` must come with its dispatcher attached and ``background`` off.
    """
    runtime = runtime or Runtime()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runtime.migrate()
        # Request threads and database connections are sized together (see Settings.api_threads).
        anyio.to_thread.current_default_thread_limiter().total_tokens = runtime.settings.api_threads
        _forget_stale_uploads(runtime.settings)
        # A gate runs in a thread of this process: one still "running" now lost its thread when we stopped.
        with runtime.sessions() as db:
            fail_interrupted_gates(db)
        close_queue = (open_queue or _attached_queue)(runtime, background)
        yield
        close_queue()

    app = FastAPI(title="Beras Grader", version=__version__, lifespan=lifespan,
                  description="Submissions, results, releases and grade reports for the Beras course.")
    app.state.runtime = runtime
    app.state.throttle = Throttle(runtime.settings.sign_in_burst, runtime.settings.sign_in_per_s)
    app.state.inflight = InFlight(runtime.settings.uploads_per_student)
    app.state.health = HealthCheck(runtime)
    app.add_middleware(BodyLimit, settings=runtime.settings)
    app.add_middleware(CsrfGuard)
    # Added last, so outermost of ours: the guards' own refusals get the headers too.
    app.add_middleware(SecurityHeaders)
    for router in ROUTERS:
        app.include_router(router)
    mount_pages(app)
    add_error_handlers(app)
    return app


def _attached_queue(runtime: Runtime, background: bool) -> Callable[[], None]:
    """The queue of a runtime that came with its dispatcher (tests, tools); nothing runs in the background."""
    if runtime.dispatcher is None or background:
        raise RuntimeError("create_app needs open_queue (worker.main.open_queue) to make a dispatcher or run "
                           "the reconciler; pass it, or attach runtime.dispatcher and pass background=False")
    return runtime.dispatcher.close


def _forget_stale_uploads(settings) -> None:
    """Delete upload files a stopped server left half-received (any older than an upload may take)."""
    folder = settings.incoming_dir
    if not folder.is_dir():
        return
    cutoff = time.time() - 2 * settings.upload_timeout_s
    for path in folder.glob("upload-*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass  # another process took or removed it
