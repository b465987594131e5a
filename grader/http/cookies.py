"""The session cookie: set and cleared in one place, ``Secure`` as ``GRADER_SECURE_COOKIES`` says."""

from __future__ import annotations

from fastapi import Request, Response

from grader.http.deps import SESSION_COOKIE
from grader.settings import SecureCookies


def secure(request: Request) -> bool:
    """Whether the session cookie is ``Secure`` for this request.

    ``auto`` follows the request's scheme: https when the server itself or a trusted proxy
    (``GRADER_FORWARDED_ALLOW_IPS``, through its X-Forwarded-Proto) says so.
    """
    mode = request.app.state.runtime.settings.secure_cookies
    if mode is SecureCookies.AUTO:
        return request.url.scheme == "https"
    return mode is SecureCookies.ALWAYS


def set_session_cookie(response: Response, request: Request, token: str, days: float) -> None:
    """Give the browser the session ``token`` for ``days``: script-proof, never sent from another site."""
    response.set_cookie(SESSION_COOKIE, token, max_age=int(days * 86400), httponly=True, samesite="strict",
                        secure=secure(request))


def clear_session_cookie(response: Response, request: Request) -> None:
    """Remove the session cookie, with the attributes it was set with (a browser matches on them)."""
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=secure(request))
