"""Headers every response carries: no MIME sniffing, and no caching unless the response chose its own."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Results, grades, logs and tokens are personal: a shared cache must never keep them, and a browser must never
# run a JSON, CSV or log body as a page or a script because it looks like one.
DEFAULTS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def add_defaults(headers: MutableHeaders) -> None:
    """Add each of ``DEFAULTS`` that ``headers`` lacks; a header the response set itself is kept."""
    for name, value in DEFAULTS.items():
        if name not in headers:
            headers[name] = value


class SecurityHeaders:
    """ASGI middleware: ``DEFAULTS`` on every HTTP response of the app it wraps (pages keep their own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_defaults(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)
