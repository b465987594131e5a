"""Who is calling: a Bearer token or a session cookie, resolved to a user; role checks for each route.

A request holds a database connection only while it uses it: the caller is looked up, then the lookup's
transaction ends, so a request waiting for its body or for a thread holds no connection.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import Headers

from grader.db import Role, TokenKind, User
from grader.http.throttle import keys_for
from grader.service.errors import Forbidden, Unauthenticated
from grader.service.users import user_for_token

SESSION_COOKIE = "beras_session"
UNKNOWN_TOKEN = "this token is unknown or expired; ask your instructor for a new one"


def db(request: Request):
    with request.app.state.runtime.sessions() as session:
        yield session


def bearer_token(headers: Headers) -> str | None:
    """The token of the Authorization header; None when the request has no such header.

    Raises:
        ServiceError: 401 when the header is there but is not ``Bearer <token>`` (an empty header included: it
            must not fall back to the cookie, which would skip the CSRF check made for Bearer callers).
    """
    header = headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def api_token_user(request: Request, session: Session, token: str) -> User:
    """The owner of an API token (Bearer or sign-in), with failed attempts throttled per address and prefix.

    Raises:
        ServiceError: 429 after too many failures from this address or on this prefix; 401 unknown token.
    """
    throttle = request.app.state.throttle
    keys = keys_for(request.client.host if request.client else None, token)
    throttle.check(keys)
    user = user_for_token(session, token, TokenKind.API)
    if user is None:
        throttle.failed(keys)
        raise Unauthenticated(UNKNOWN_TOKEN)
    return user


def find_caller(request: Request, session: Session) -> User:
    """The API's caller: the Bearer token's user, else the session cookie's.

    Raises:
        ServiceError: 401 no credentials, a malformed header, or an unknown token; 429 too many failures.
    """
    token = bearer_token(request.headers)
    if token is not None:
        return api_token_user(request, session, token)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not cookie:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>' "
                              "(from `beras-grader users add`)")
    user = user_for_token(session, cookie, TokenKind.SESSION)
    if user is None:
        raise Unauthenticated("your session has ended; sign in again")
    return user


def caller(request: Request, session: Session = Depends(db)) -> User:
    user = find_caller(request, session)
    # Hand the connection back (the user stays loaded): the route may still wait for a thread or its body.
    session.commit()
    request.state.user = user
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
            raise Forbidden(f"only {' or '.join(r.value for r in roles)} accounts may {action}; "
                            f"you are signed in as {user.email} ({user.role.value})")
        return user

    return check


staff = require(Role.TA, Role.INSTRUCTOR)
instructor = require(Role.INSTRUCTOR)

# For route signatures: ``user: StaffUser, session: DbSession`` (no call in a default value).
DbSession = Annotated[Session, Depends(db)]
CurrentUser = Annotated[User, Depends(caller)]
StaffUser = Annotated[User, Depends(staff)]
InstructorUser = Annotated[User, Depends(instructor)]
