"""Attaching the pages to the FastAPI app: the page routers, the static files, and error pages for people."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from grader.web.render import STATIC, page
from grader.web.routes import auth, instructor, staff, student

_HEADINGS = {400: "That request was not right", 401: "Sign in first", 403: "Not allowed", 404: "Not found",
             409: "Not now", 413: "Too large", 422: "Not accepted", 429: "Too many submissions",
             500: "Something went wrong on our side"}


def mount_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (auth.router, student.router, staff.router, instructor.router):
        app.include_router(router)


def wants_page(request: Request) -> bool:
    """A person's browser asked for a page (not the API, the health check or a download)."""
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/healthz", "/openapi.json", "/docs", "/redoc")
                or path.endswith((".csv", ".zip", ".json", ".txt")))


def error_page(request: Request, status: int, message: str):
    """The error as a page a person can act on; the signed-in user is looked up again, quietly, for the header."""
    from grader.api.auth import SESSION_COOKIE
    from grader.service.users import user_for_token

    user = None
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        try:
            with request.app.state.runtime.sessions() as session:
                user = user_for_token(session, token)
                if user is not None:
                    session.expunge(user)
        except Exception:  # noqa: BLE001 (the error page must render even when the database is down)
            user = None
    heading = _HEADINGS.get(status, "Error")
    return page(request, "error.html", status_code=status, user=user, heading=heading,
                message=message[:1].upper() + message[1:])
