"""CSRF guard for cookie sessions: a token derived from the session, and an Origin check.

A Bearer-token caller is not exposed (browsers never attach it on their own); a cookie caller is, so every
unsafe request that rides on the session cookie must carry the session's CSRF token, in the form field
``csrf_token`` (pages) or the ``X-CSRF-Token`` header (the pages' scripts calling the API).
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from grader.http.deps import SESSION_COOKIE

HEADER = "x-csrf-token"
FIELD = "csrf_token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def token_for(session_token: str) -> str:
    """The CSRF token of a session: stable for the session's life, useless without its cookie."""
    return hashlib.sha256(b"beras-csrf:" + session_token.encode()).hexdigest()[:40]


def valid(session_token: str, given: str | None) -> bool:
    return bool(session_token) and bool(given) and hmac.compare_digest(token_for(session_token), given)


def same_origin(headers, host: str) -> bool:
    """False only when the browser says the request came from another site (Origin or Referer elsewhere)."""
    origin = headers.get("origin") or headers.get("referer") or ""
    if not origin or origin == "null":
        return not origin  # no header at all: not a browser cross-site post (browsers send Origin on POST)
    netloc = origin.split("://", 1)[-1].split("/", 1)[0]
    return netloc == host


def _bearer(header: str | None) -> bool:
    """The request really authenticates with a Bearer token (routes refuse any other Authorization header).

    Only then is it spared the token check: an empty or malformed header must not let a cookie ride without
    it.
    """
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


class CsrfGuard:
    """Refuses cross-site unsafe requests; checks the header token on cookie-authenticated API calls.

    Page form posts are checked by their routes (``grader.web.deps.form``), which read the form anyway.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        problem = None
        if not same_origin(headers, headers.get("host", "")):
            problem = "this request came from another site and was refused (cross-site request forgery guard)"
        elif (scope["path"].startswith("/api/") and not _bearer(headers.get("authorization"))
              and scope["path"] != "/api/session"):
            session_token = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE, "")
            if session_token and not valid(session_token, headers.get(HEADER)):
                problem = ("a request signed in by the session cookie must send the page's CSRF token in the "
                           "X-CSRF-Token header; reload the page and try again")
        if problem is None:
            return await self.app(scope, receive, send)
        from starlette.responses import JSONResponse

        await JSONResponse({"error": problem}, status_code=403)(scope, receive, send)

