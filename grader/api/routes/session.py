"""Browser sessions: trade an API token for a session cookie, see who is signed in, sign out."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from grader.api.auth import SESSION_COOKIE, api_token_user, caller, db
from grader.api.cookies import clear_session_cookie, set_session_cookie
from grader.db import TokenKind, User
from grader.service.users import drop_token, new_token

router = APIRouter(prefix="/api", tags=["session"])


class SignIn(BaseModel):
    token: str = Field(max_length=200)


@router.post("/session")
def sign_in(body: SignIn, request: Request, session: Session = Depends(db)) -> JSONResponse:
    """Trade an API token (never a session's) for a session cookie; failed tries are throttled (429)."""
    user = api_token_user(request, session, body.token.strip())
    days = request.app.state.runtime.settings.session_days
    cookie = new_token(session, user, kind=TokenKind.SESSION, lifetime=timedelta(days=days))
    session.commit()
    response = JSONResponse({"email": user.email, "role": user.role.value})
    set_session_cookie(response, request, cookie, days)
    return response


@router.delete("/session")
def sign_out(request: Request, session: Session = Depends(db)) -> JSONResponse:
    if request.cookies.get(SESSION_COOKIE):
        drop_token(session, request.cookies[SESSION_COOKIE], TokenKind.SESSION)
    response = JSONResponse({"signed_out": True})
    clear_session_cookie(response, request)
    return response


@router.get("/me")
def me(user: User = Depends(caller)) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value}
