"""Signing in and out of the pages (an instructor's token becomes a session cookie) and the home redirect."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from grader.db import Role, TokenKind
from grader.http.cookies import clear_session_cookie, set_session_cookie
from grader.http.deps import SESSION_COOKIE, DbSession, api_token_user
from grader.service.errors import ServiceError, Unauthenticated
from grader.service.users import drop_token, new_token
from grader.web.deps import CheckedForm, Viewer
from grader.web.render import page

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: an absolute or protocol-relative URL would make sign-in an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/")
def home(user: Viewer) -> RedirectResponse:
    target = {Role.STUDENT: "/assignments", Role.TA: "/staff",
              Role.INSTRUCTOR: "/instructor/gradebook"}[user.role]
    return RedirectResponse(target, status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/"):
    return page(request, "login.html", next=_safe_next(next))


@router.post("/login")
async def login(request: Request):
    """Sign in with an API token from the form (throttled like the API's); the cookie is a new session."""
    data = await request.form(max_fields=5, max_files=0)
    token, target = str(data.get("token", "")).strip()[:200], _safe_next(str(data.get("next", "/")))
    if not token:
        return page(request, "login.html", status_code=401, next=target,
                    error="enter the sign-in token your instructor sent you (it starts with bg_)")
    try:
        cookie = await run_in_threadpool(_sign_in, request, token)
    except ServiceError as error:
        message = error.message if not isinstance(error, Unauthenticated) else (
            "this token is unknown or expired; check it was copied whole, "
            "or ask your instructor for a new one")
        response = page(request, "login.html", status_code=error.status, error=message, next=target)
        if "retry_after_s" in error.detail:
            response.headers["Retry-After"] = str(error.detail["retry_after_s"])
        return response
    days = request.app.state.runtime.settings.session_days
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, cookie, days)
    return response


def _sign_in(request: Request, token: str) -> str:
    """A new session cookie for the API token's user. Raises Unauthenticated (unknown token), RateLimited."""
    runtime = request.app.state.runtime
    with runtime.sessions() as session:
        user = api_token_user(request, session, token)
        cookie = new_token(session, user, kind=TokenKind.SESSION,
                           lifetime=timedelta(days=runtime.settings.session_days))
        session.commit()
        return cookie


@router.post("/logout")
def logout(request: Request, _: CheckedForm, session: DbSession) -> RedirectResponse:
    if request.cookies.get(SESSION_COOKIE):
        drop_token(session, request.cookies[SESSION_COOKIE], TokenKind.SESSION)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request)
    return response
