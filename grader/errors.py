"""The application's error handlers: each error answered once, as JSON for the API or as a page."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader.api.headers import add_defaults
from grader.service.errors import ServiceError
from grader.web.app import error_page, wants_page
from grader.web.deps import SignInRequired, sign_in_url

log = logging.getLogger("beras.api")


def add_error_handlers(app: FastAPI) -> None:
    """Every error is ``{"error": message}`` or the error page: one a person can act on."""
    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(PoolTimeout, no_connection)
    app.add_exception_handler(OperationalError, database_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


async def answer(request: Request, status: int, message: str, headers: dict[str, str] | None = None,
                 **detail: object) -> Response:
    """The one way an error leaves: the error page for a person's browser, else ``{"error": message}``."""
    if wants_page(request):
        return await error_page(request, status, message, headers)
    return JSONResponse({"error": message, **detail}, status_code=status, headers=headers)


async def sign_in_first(_: Request, error: SignInRequired) -> RedirectResponse:
    return RedirectResponse(sign_in_url(error.path), status_code=303)


async def service_error(request: Request, error: ServiceError) -> Response:
    """A typed refusal of the service layer: its type's status, its message, its detail fields."""
    retry = error.detail.get("retry_after_s")
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return await answer(request, error.status, error.message, headers, **error.detail)


async def no_connection(request: Request, _: PoolTimeout) -> Response:
    # Every pooled connection stayed busy for db_wait_s: a burst past what this server can take at once.
    return await _unavailable(request, "every database connection is in use")


async def database_error(request: Request, error: OperationalError) -> Response:
    if "database is locked" in str(error):  # SQLite's write lock stayed taken for its busy timeout
        return await _unavailable(request, "the database is busy")
    return await unexpected(request, error)


async def _unavailable(request: Request, why: str) -> Response:
    wait = max(1, round(request.app.state.runtime.settings.db_wait_s))
    log.warning("503 for %s %s: %s", request.method, request.url.path, why)
    message = f"the server is busy ({why}); nothing was changed, try again in {wait} s"
    return await answer(request, 503, message, {"Retry-After": str(wait)}, retry_after_s=wait)


async def invalid_request(request: Request, error: RequestValidationError) -> Response:
    problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in error.errors()]
    return await answer(request, 422, "the request is invalid: " + "; ".join(problems))


async def http_error(request: Request, error: StarletteHTTPException) -> Response:
    message = error.detail
    if error.status_code == 404 and message == "Not Found":
        message = f"no such route: {request.method} {request.url.path} (see /docs for the API)"
    elif error.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    if error.status_code == 404 and wants_page(request):
        message = f"there is no page at {request.url.path}"
    return await answer(request, error.status_code, message)


async def unexpected(request: Request, error: Exception) -> Response:
    reference = uuid.uuid4().hex[:10]
    log.exception("unhandled error (reference %s)", reference)
    message = f"the server failed on this request; it was logged. Tell your TA the reference {reference}."
    response = await answer(request, 500, message)
    # This handler answers from outside every middleware (Starlette's ServerErrorMiddleware): add the headers.
    add_defaults(response.headers)
    return response
