"""UploadLimit: an ASGI middleware that stops an upload as soon as its body passes the cap, before it is all read."""

from __future__ import annotations

from grader.intake.limits import shown_size

# Room for the multipart framing around the file itself.
FRAMING_BYTES = 64 * 2**10


class UploadTooLarge(Exception):
    def __init__(self, cap: int) -> None:
        super().__init__(f"the upload is larger than the {shown_size(cap)} allowed; "
                         "submit only your beras/ files (make_submission.py builds the zip)")
        self.cap = cap


class UploadLimit:
    """Refuses a declared Content-Length over the cap at once, and counts the bytes of chunked bodies as they come."""

    def __init__(self, app, cap_bytes: int) -> None:
        self.app = app
        self.cap = cap_bytes
        self.limit = cap_bytes + FRAMING_BYTES

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _refuse(send, self.cap)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise UploadTooLarge(self.cap)
            return message

        return await self.app(scope, counted, send)


async def _refuse(send, cap: int) -> None:
    import json

    body = json.dumps({"error": str(UploadTooLarge(cap))}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
