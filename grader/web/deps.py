"""Who is looking at a page: the session cookie's user, role checks answered with a page, checked forms."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from grader.db import Role, TokenKind, User
from grader.http.deps import SESSION_COOKIE, db, require
from grader.service.errors import Forbidden
from grader.service.users import user_for_token
from grader.web import csrf


class SignInRequired(Exception):
    """No valid session: the page answers with a redirect to the sign-in page, back here after."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def page_user(session: Session, request: Request) -> User:
    """The session cookie's user (session tokens only).

    Raises:
        SignInRequired: no cookie, or one that is unknown, expired or not a session's.
    """
    token = request.cookies.get(SESSION_COOKIE, "")
    user = user_for_token(session, token, TokenKind.SESSION) if token else None
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return user


def viewer(request: Request, session: Session = Depends(db)) -> User:
    user = page_user(session, request)
    session.commit()  # the connection goes back to the pool while the page waits for its form or a thread
    request.state.user = user
    return user


# The API's role check, with the session cookie's user: others get a 403 page naming who may.
staff = require(Role.TA, Role.INSTRUCTOR, identify=viewer, action="use this page")
instructor = require(Role.INSTRUCTOR, identify=viewer, action="use this page")


async def form(request: Request) -> FormData:
    """The posted form, after its CSRF token is checked against the session."""
    data = await request.form(max_files=1, max_fields=200)
    if not csrf.valid(request.cookies.get(SESSION_COOKIE, ""), data.get(csrf.FIELD)):
        raise Forbidden("this form's security token is missing or stale; reload the page and try again")
    return data


def sign_in_url(path: str) -> str:
    return f"/login?next={quote(path, safe='/')}"


# For page signatures: ``user: StaffViewer, session: DbSession, data: CheckedForm``.
Viewer = Annotated[User, Depends(viewer)]
StaffViewer = Annotated[User, Depends(staff)]
InstructorViewer = Annotated[User, Depends(instructor)]
CheckedForm = Annotated[FormData, Depends(form)]
