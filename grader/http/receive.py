"""receive_upload: a multipart upload streamed to a file in the data dir as it arrives, never held in memory.

The body comes through ``BodyLimit`` (its cap and deadlines apply); the file part goes straight to
``settings.incoming_dir``, on the blob store's disk so that storing it is a rename, and the few small text
fields (a page form's CSRF token) are kept. Writes go to the page cache in the chunks the server hands over
(64 KiB at most); a thread hop per chunk would cost more than the write, and threads are what a burst is short
of.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from grader.http.bodies import BodyTooLarge
from grader.service.errors import Invalid, UnsupportedMedia

FILE_FIELD = "file"
_MAX_FIELDS = 10
_MAX_FIELD_BYTES = 4096


@dataclass
class Received:
    """The uploaded file on disk (``path``; None when the form had no file) and the form's text fields."""

    path: Path | None = None
    filename: str = ""
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        """Delete the file, unless the blob store took it."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class _Parts:
    """python-multipart's callbacks: text fields into memory (small), the file part into ``incoming``."""

    def __init__(self, incoming: Path, cap: int) -> None:
        self.incoming, self.cap = incoming, cap
        self.received = Received()
        self.handle = None
        self._header, self._value, self._disposition = b"", b"", b""
        self._name, self._data, self._is_file = "", bytearray(), False

    def on_part_begin(self) -> None:
        self._disposition, self._data, self._is_file = b"", bytearray(), False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._disposition = self._value
        self._header, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options and self._name == FILE_FIELD:
            if self.handle is not None:
                raise Invalid("the form holds more than one file; send one zip in the field 'file'")
            self._is_file = True
            self.incoming.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.incoming, prefix="upload-", suffix=".zip")
            self.received.path = Path(name)
            self.received.filename = options[b"filename"].decode("utf-8", "replace")[:300]
            self.handle = os.fdopen(fd, "wb")
        elif len(self.received.fields) >= _MAX_FIELDS:
            raise Invalid(f"the form has more than {_MAX_FIELDS} fields; "
                          "send the zip in the field 'file'")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.received.size += end - start
            if self.received.size > self.cap:
                raise BodyTooLarge(self.cap, upload=True)
            self.handle.write(data[start:end])
        elif self._name != FILE_FIELD:  # a file sent in another field is ignored, unread
            self._data += data[start:end]
            if len(self._data) > _MAX_FIELD_BYTES:
                raise Invalid(f"the form field {self._name[:40]!r} is over {_MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if not self._is_file and self._name != FILE_FIELD:
            self.received.fields[self._name] = self._data.decode("utf-8", "replace")

    def callbacks(self) -> dict:
        return {name: getattr(self, name) for name in ("on_part_begin", "on_part_data", "on_part_end",
                                                      "on_header_field", "on_header_value", "on_header_end",
                                                      "on_headers_finished")}


async def receive_upload(request: Request, incoming: Path, cap: int) -> Received:
    """Read the multipart body of ``request``, its file part written to a new file under ``incoming``.

    Args:
        request: an upload request (the body not yet read).
        incoming: the folder for the file (created if missing).
        cap: the most bytes the file may have.

    Returns:
        What arrived; the caller stores the file or calls ``discard``.

    Raises:
        ServiceError: 415 not multipart/form-data, 400 a malformed form, or a body cut off by the client.
        BodyTooLarge: the file is over ``cap``; BodyTimeout: the body stopped arriving (from ``BodyLimit``).
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        shown = request.headers.get("content-type", "")
        raise UnsupportedMedia("send the zip as multipart/form-data with the field 'file' "
                               f"(got {shown[:100] or 'no content type'!r})")
    parts = _Parts(incoming, cap)
    try:
        parser = MultipartParser(options[b"boundary"], parts.callbacks())
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        parts.received.discard()
        raise Invalid("the upload is not a well-formed multipart form; send the zip as "
                      "-F file=@submission.zip") from None
    except ClientDisconnect:
        parts.received.discard()
        raise Invalid("the upload was cut off before it was complete") from None
    except BaseException:
        parts.received.discard()
        raise
    finally:
        if parts.handle is not None:
            parts.handle.close()
    return parts.received
