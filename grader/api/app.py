"""create_app: the FastAPI application, its JSON error handlers, health check, and the queue it feeds."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader import __version__
from grader.api.bodies import BodyLimit
from grader.api.headers import SecurityHeaders, add_defaults
from grader.api.health import HealthCheck
from grader.api.inflight import InFlight
from grader.api.routes import assignments, gates, reports, session, submissions
from grader.api.throttle import Throttle
from grader.runtime import Runtime
from grader.service.errors import ServiceError
from grader.service.gates import fail_interrupted_gates
from grader.web.app import mount_pages, wants_page, error_page
from grader.web.csrf import CsrfGuard
from grader.web.deps import SignInRequired, sign_in_url

log = logging.getLogger("beras.api")


# What the composition gives the app to open its queue: (runtime, background) -> what to call on stop.
QueueOpener = Callable[[Runtime, bool], Callable[[], None]]


def create_app(runtime: Runtime | None = None, *, background: bool = True,
               open_queue: QueueOpener | None = None) -> FastAPI:
    """The API over ``runtime`` (default: from the environment).

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
    for router in (assignments.router, gates.router, submissions.router, reports.router, session.router):
        app.include_router(router)
    mount_pages(app)
    _errors(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        """The API answers, and its database too (probed on a connection of its own, never behind requests)."""
        checks = {"database": await app.state.health.database(),
                  "queue": "celery" if runtime.settings.broker_url else "embedded"}
        if checks["database"] != "ok":
            return JSONResponse({"status": "unhealthy", **checks}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, **checks})

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


def _busy(request: Request) -> float:
    return request.app.state.runtime.settings.db_wait_s


def _errors(app: FastAPI) -> None:
    """Every error is ``{"error": message}``; a person can act on the message, and no traceback leaves."""

    @app.exception_handler(SignInRequired)
    async def sign_in_first(_: Request, error: SignInRequired) -> RedirectResponse:
        return RedirectResponse(sign_in_url(error.path), status_code=303)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, error: ServiceError):
        headers = {"Retry-After": str(error.detail["retry_after_s"])} if "retry_after_s" in error.detail else None
        if wants_page(request):
            return await error_page(request, error.status, error.message, headers)
        return JSONResponse({"error": error.message, **error.detail}, status_code=error.status, headers=headers)

    @app.exception_handler(PoolTimeout)
    async def no_connection(request: Request, _: PoolTimeout):
        # Every pooled connection stayed busy for db_wait_s: a burst past what this server can take at once.
        return await _unavailable(request, "every database connection is in use")

    @app.exception_handler(OperationalError)
    async def database_error(request: Request, error: OperationalError):
        if "database is locked" in str(error):  # SQLite's write lock stayed taken for its busy timeout
            return await _unavailable(request, "the database is busy")
        return await unexpected(request, error)

    async def _unavailable(request: Request, why: str):
        wait = max(1, round(_busy(request)))
        log.warning("503 for %s %s: %s", request.method, request.url.path, why)
        message = f"the server is busy ({why}); nothing was changed, try again in {wait} s"
        headers = {"Retry-After": str(wait)}
        if wants_page(request):
            return await error_page(request, 503, message, headers)
        return JSONResponse({"error": message, "retry_after_s": wait}, status_code=503, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in error.errors()]
        if wants_page(request):
            return await error_page(request, 422, "the request is invalid: " + "; ".join(problems))
        return JSONResponse({"error": "the request is invalid: " + "; ".join(problems)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = error.detail
        if error.status_code == 404 and message == "Not Found":
            message = f"no such route: {request.method} {request.url.path} (see /docs for the API)"
        elif error.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        if wants_page(request):
            if error.status_code == 404:
                message = f"there is no page at {request.url.path}"
            return await error_page(request, error.status_code, message)
        return JSONResponse({"error": message}, status_code=error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        reference = uuid.uuid4().hex[:10]
        log.exception("unhandled error (reference %s)", reference)
        message = f"the server failed on this request; it was logged. Tell your TA the reference {reference}."
        # This handler answers from outside every middleware (Starlette's ServerErrorMiddleware): add the headers.
        if wants_page(request):
            response = await error_page(request, 500, message)
        else:
            response = JSONResponse({"error": message}, status_code=500)
        add_defaults(response.headers)
        return response
