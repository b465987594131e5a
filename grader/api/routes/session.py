"""Browser sessions: trade an API token for a session cookie, see who is signed in, sign out."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from grader.api.models import Me, SignedIn, SignedOut
from grader.db import TokenKind
from grader.http.cookies import clear_session_cookie, set_session_cookie
from grader.http.deps import SESSION_COOKIE, CurrentUser, DbSession, api_token_user
from grader.service.users import drop_token, new_token

router = APIRouter(prefix="/api", tags=["session"])


class SignIn(BaseModel):
    token: str = Field(max_length=200)


@router.post("/session", response_model=SignedIn)
def sign_in(body: SignIn, request: Request, session: DbSession) -> JSONResponse:
    """Trade an API token (never a session's) for a session cookie; failed tries are throttled (429)."""
    user = api_token_user(request, session, body.token.strip())
    days = request.app.state.runtime.settings.session_days
    cookie = new_token(session, user, kind=TokenKind.SESSION, lifetime=timedelta(days=days))
    session.commit()
    response = JSONResponse({"email": user.email, "role": user.role.value})
    set_session_cookie(response, request, cookie, days)
    return response


@router.delete("/session", response_model=SignedOut)
def sign_out(request: Request, session: DbSession) -> JSONResponse:
    if request.cookies.get(SESSION_COOKIE):
        drop_token(session, request.cookies[SESSION_COOKIE], TokenKind.SESSION)
    response = JSONResponse({"signed_out": True})
    clear_session_cookie(response, request)
    return response


@router.get("/me", response_model=Me)
def me(user: CurrentUser) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value}
