"""BodyLimit: every request body under a size cap and a deadline, refused as it arrives, before any parsing.

Uploads may be as large as ``max_upload_mb`` and take ``upload_timeout_s``; the roster import has its own cap;
every other body (JSON, page forms) is capped at ``max_body_kb``, so no one, signed in or not, can make the
server parse a 20 MiB JSON document. A declared Content-Length over the cap is refused before a byte is read;
a chunked body is counted as it comes. A body must also keep coming: a pause longer than ``upload_idle_s``, or
a body still arriving after its deadline, is answered 408, so a client sending a byte every few seconds holds
nothing for long. A response sent before its request's body was read closes the connection, so that the client
cannot keep the server reading a body that no one wants.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass

from starlette.exceptions import HTTPException

from grader.intake.limits import shown_size

# Room for the multipart framing around an uploaded file.
FRAMING_BYTES = 64 * 2**10
_WITH_BODY = ("POST", "PUT", "PATCH", "DELETE")
UPLOAD_ROUTES = (re.compile(r"/api/assignments/[^/]+/submissions"), re.compile(r"/assignments/[^/]+/submit"))
ROSTER_ROUTE = re.compile(r"/instructor/roster")


class BodyTooLarge(HTTPException):
    """413: the body passed its cap (an HTTPException, so FastAPI's body parsing lets it through as is)."""

    def __init__(self, cap: int, upload: bool) -> None:
        fix = ("submit only your beras/ files (make_submission.py builds the zip)" if upload else
               "this route takes a small JSON document or form")
        super().__init__(413, f"the request body is larger than the {shown_size(cap)} allowed; {fix}")
        self.cap = cap


class BodyTimeout(HTTPException):
    """408: the body stopped coming, or did not arrive within its deadline."""

    def __init__(self, why: str) -> None:
        super().__init__(408, f"the request body {why}; send it again on a steadier connection")


@dataclass(frozen=True)
class BodyRule:
    """The cap and deadlines of one kind of route.

    Attributes:
        cap: the most bytes the body may have (framing included).
        total_s: the whole body must have arrived this long after the app began to read it.
        idle_s: the longest pause between two pieces of the body.
        upload: a submission upload (for the wording of the refusal).
    """

    cap: int
    total_s: float
    idle_s: float
    upload: bool = False


def body_rules(settings) -> tuple[BodyRule, BodyRule, BodyRule]:
    """The rules for uploads, the roster import and everything else, from ``settings`` (set there only)."""
    upload = BodyRule(settings.max_upload_bytes + FRAMING_BYTES, settings.upload_timeout_s,
                      settings.upload_idle_s, upload=True)
    roster = BodyRule(settings.max_roster_kb * 2**10, settings.upload_timeout_s, settings.upload_idle_s)
    small = BodyRule(settings.max_body_kb * 2**10, settings.upload_idle_s, settings.upload_idle_s)
    return upload, roster, small


class BodyLimit:
    """The ASGI middleware applying ``body_rules`` to every request that may carry a body."""

    def __init__(self, app, settings) -> None:
        self.app = app
        self.upload, self.roster, self.small = body_rules(settings)

    def rule(self, path: str) -> BodyRule:
        if any(route.fullmatch(path) for route in UPLOAD_ROUTES):
            return self.upload
        return self.roster if ROSTER_ROUTE.fullmatch(path) else self.small

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            return await self.app(scope, receive, send)
        rule = self.rule(scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > rule.cap:
            return await _refuse(send, BodyTooLarge(rule.cap, rule.upload))
        complete = declared == b"0" or (declared is None and b"transfer-encoding" not in headers)
        # From the app's first read: time spent on our side (queued for a thread) is not the client's.
        deadline = None
        seen = 0

        async def limited():
            nonlocal seen, complete, deadline
            if complete:  # the body is in: what follows is the wait for a disconnect, with no deadline
                return await receive()
            deadline = deadline or time.monotonic() + rule.total_s
            left = deadline - time.monotonic()
            if left <= 0:
                raise BodyTimeout(f"did not arrive within {rule.total_s:g} s")
            try:
                message = await asyncio.wait_for(receive(), min(left, rule.idle_s))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise BodyTimeout(f"did not arrive within {rule.total_s:g} s") from None
                raise BodyTimeout(f"stopped arriving for {rule.idle_s:g} s") from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > rule.cap:
                    raise BodyTooLarge(rule.cap, rule.upload)
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        async def closing(message):
            # Answered before the body was read: close, rather than read the rest of it to keep the
            # connection.
            if message["type"] == "http.response.start" and not complete:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        return await self.app(scope, limited, closing)


async def _refuse(send, error: HTTPException) -> None:
    body = json.dumps({"error": error.detail}).encode()
    await send({"type": "http.response.start", "status": error.status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
