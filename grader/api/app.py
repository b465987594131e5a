"""create_app: the FastAPI application, its JSON error handlers, health check, and the queue it feeds."""

from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader import __version__
from grader.api.headers import SecurityHeaders, add_defaults
from grader.api.routes import assignments, gates, reports, session, submissions
from grader.api.upload import UploadLimit, UploadTooLarge
from grader.runtime import Runtime
from grader.service.errors import ServiceError
from grader.service.gates import fail_interrupted_gates
from grader.web.app import mount_pages, wants_page, error_page
from grader.web.csrf import CsrfGuard
from grader.web.deps import SignInRequired, sign_in_url

log = logging.getLogger("beras.api")


def create_app(runtime: Runtime | None = None, *, background: bool = True) -> FastAPI:
    """The API over ``runtime`` (default: from the environment).

    On start it migrates the database, ends the gate runs the last stop interrupted, opens the queue (Celery
    when a broker is set, else an in-process pool) and, with ``background``, runs the reconciler so nothing
    queued is ever forgotten.
    """
    runtime = runtime or Runtime()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from worker.queue.dispatch import make_dispatcher
        from worker.queue.reconciler import Reconciler

        runtime.migrate()
        # A gate runs in a thread of this process: one still "running" now lost its thread when we stopped.
        with runtime.sessions() as db:
            fail_interrupted_gates(db)
        if runtime.dispatcher is None:
            runtime.dispatcher = make_dispatcher(runtime)
        reconciler = Reconciler(runtime).start() if background else None
        yield
        if reconciler:
            reconciler.stop()
        runtime.dispatcher.close()

    app = FastAPI(title="Beras Grader", version=__version__, lifespan=lifespan,
                  description="Submissions, results, releases and grade reports for the Beras course.")
    app.state.runtime = runtime
    app.add_middleware(UploadLimit, cap_bytes=runtime.settings.max_upload_bytes)
    app.add_middleware(CsrfGuard)
    # Added last, so outermost of ours: the guards' own refusals get the headers too.
    app.add_middleware(SecurityHeaders)
    for router in (assignments.router, gates.router, submissions.router, reports.router, session.router):
        app.include_router(router)
    mount_pages(app)
    _errors(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        checks = {"database": "ok", "queue": "celery" if runtime.settings.broker_url else "embedded"}
        try:
            with runtime.sessions() as s:
                s.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001
            checks["database"] = f"unreachable: {str(error).splitlines()[0]}"
            return JSONResponse({"status": "unhealthy", **checks}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, **checks})

    return app


def _errors(app: FastAPI) -> None:
    """Every error is ``{"error": message}``; a person can act on the message, and no traceback leaves."""

    @app.exception_handler(SignInRequired)
    async def sign_in_first(_: Request, error: SignInRequired) -> RedirectResponse:
        return RedirectResponse(sign_in_url(error.path), status_code=303)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, error: ServiceError):
        if wants_page(request):
            return error_page(request, error.status, error.message)
        headers = {"Retry-After": str(error.detail["retry_after_s"])} if "retry_after_s" in error.detail else None
        return JSONResponse({"error": error.message, **error.detail}, status_code=error.status, headers=headers)

    @app.exception_handler(UploadTooLarge)
    async def too_large(request: Request, error: UploadTooLarge):
        if wants_page(request):
            return error_page(request, 413, str(error))
        return JSONResponse({"error": str(error)}, status_code=413, headers={"Connection": "close"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in error.errors()]
        if wants_page(request):
            return error_page(request, 422, "the request is invalid: " + "; ".join(problems))
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
            return error_page(request, error.status_code, message)
        return JSONResponse({"error": message}, status_code=error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        reference = uuid.uuid4().hex[:10]
        log.exception("unhandled error (reference %s)", reference)
        message = f"the server failed on this request; it was logged. Tell your TA the reference {reference}."
        # This handler answers from outside every middleware (Starlette's ServerErrorMiddleware): add the headers.
        if wants_page(request):
            response = error_page(request, 500, message)
        else:
            response = JSONResponse({"error": message}, status_code=500)
        add_defaults(response.headers)
        return response
