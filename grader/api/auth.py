"""Who is calling: a Bearer token or a session cookie, resolved to a user; role checks for each route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from grader.db import Role, User
from grader.service.errors import ServiceError
from grader.service.users import user_for_token

SESSION_COOKIE = "beras_session"


def db(request: Request):
    with request.app.state.runtime.sessions() as session:
        yield session


def caller(request: Request, session: Session = Depends(db)) -> User:
    header = request.headers.get("authorization", "")
    token = ""
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ServiceError(401, "the Authorization header must be 'Bearer <token>'")
        token = token.strip()
    else:
        token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise ServiceError(401, "sign in first: send 'Authorization: Bearer <token>' (from `beras-grader users add`)")
    user = user_for_token(session, token)
    if user is None:
        raise ServiceError(401, "this token is unknown or expired; ask your instructor for a new one")
    return user


def require(*roles: Role, identify=caller, action: str = "do this"):
    """A dependency that lets only ``roles`` through (403 otherwise, naming who may).

    Args:
        roles: the roles let through.
        identify: the dependency that finds the caller (the API's ``caller``; the pages pass their own).
        action: what the caller tried, for the refusal ("only ta or instructor accounts may <action>").
    """

    def check(user: User = Depends(identify)) -> User:
        if user.role not in roles:
            raise ServiceError(403, f"only {' or '.join(r.value for r in roles)} accounts may {action}; "
                                    f"you are signed in as {user.email} ({user.role.value})")
        return user

    return check


staff = require(Role.TA, Role.INSTRUCTOR)
instructor = require(Role.INSTRUCTOR)

# For route signatures: ``user: StaffUser, session: DbSession`` (no call in a default value).
DbSession = Annotated[Session, Depends(db)]
StaffUser = Annotated[User, Depends(staff)]
