"""Attaching the pages to the FastAPI app: the page routers, the static files, and error pages for people."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles

from grader.db import TokenKind
from grader.http.deps import SESSION_COOKIE
from grader.service.users import user_for_token
from grader.web.render import STATIC, page
from grader.web.routes import auth, instructor, similarity, staff, student

_HEADINGS = {400: "That request was not right", 401: "Sign in first", 403: "Not allowed", 404: "Not found",
             408: "Too slow", 409: "Not now", 413: "Too large", 422: "Not accepted", 429: "Too many at once",
             500: "Something went wrong on our side", 503: "Busy: try again in a moment"}


def mount_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (auth.router, student.router, staff.router, similarity.router, instructor.router):
        app.include_router(router)


def wants_page(request: Request) -> bool:
    """A person's browser asked for a page (not the API, the health check or a download)."""
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/healthz", "/openapi.json", "/docs", "/redoc")
                or path.endswith((".csv", ".zip", ".json", ".txt")))


async def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None):
    """The error as a page a person can act on, with the signed-in user in the header.

    The user is the one the request already found, or is looked up again, quietly, in a worker thread (an
    error handler runs on the event loop, where no database call may wait).
    """
    user = getattr(request.state, "user", None)
    token = request.cookies.get(SESSION_COOKIE, "")
    if user is None and token:
        user = await run_in_threadpool(_session_user, request.app.state.runtime, token)
    heading = _HEADINGS.get(status, "Error")
    response = page(request, "error.html", status_code=status, user=user, heading=heading,
                    message=message[:1].upper() + message[1:])
    response.headers.update(headers or {})
    return response


def _session_user(runtime, token: str):
    try:
        with runtime.sessions() as session:
            user = user_for_token(session, token, TokenKind.SESSION)
            if user is not None:
                session.expunge(user)
            return user
    except Exception:  # noqa: BLE001 (the error page must render even when the database is down)
        return None
