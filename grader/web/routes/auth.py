"""Signing in and out of the pages (a token from the instructor becomes a session cookie) and the home redirect."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from grader.api.auth import SESSION_COOKIE, db
from grader.api.cookies import clear_session_cookie, set_session_cookie
from grader.db import Role, User
from grader.service.users import drop_token, new_token, user_for_token
from grader.web.deps import form, viewer
from grader.web.render import page

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: an absolute or protocol-relative URL would make sign-in an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/")
def home(user: User = Depends(viewer)) -> RedirectResponse:
    target = {Role.STUDENT: "/assignments", Role.TA: "/staff", Role.INSTRUCTOR: "/instructor/gradebook"}[user.role]
    return RedirectResponse(target, status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/"):
    return page(request, "login.html", next=_safe_next(next))


@router.post("/login")
async def login(request: Request, session: Session = Depends(db)):
    data = await request.form(max_fields=5, max_files=0)
    token, target = str(data.get("token", "")).strip(), _safe_next(str(data.get("next", "/")))
    user = user_for_token(session, token) if token else None
    if user is None:
        message = ("enter the sign-in token your instructor sent you (it starts with bg_)" if not token else
                   "this token is unknown or expired; check it was copied whole, or ask your instructor for a new one")
        return page(request, "login.html", status_code=401, error=message, next=target)
    days = request.app.state.runtime.settings.session_days
    cookie = new_token(session, user, kind="session", lifetime=timedelta(days=days))
    session.commit()
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, cookie, days)
    return response


@router.post("/logout")
def logout(request: Request, _=Depends(form), session: Session = Depends(db)) -> RedirectResponse:
    if request.cookies.get(SESSION_COOKIE):
        drop_token(session, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request)
    return response
