"""The upload path of API and page: admitted before the body, streamed to disk, stored in a worker thread.

1. Before a byte of the body is read (in a worker thread, the connection held only for the look-ups): who is
   calling, whether the assignment is released and open to them, the rate limit; the declared size was already
   checked by ``BodyLimit``.
2. The student takes one of their in-flight slots (``InFlight``): past it, 429 at once.
3. The body streams to a file under the cap and the body deadlines (``receive_upload``); no thread and no
   database connection is held meanwhile. A body cut off at the cap counts toward the rate limit.
4. In a worker thread: intake, the blob's fsync, then one short transaction that takes the student's
   rate-limit lock, counts, and stores the submission (or the refusal, which counts too).

Steps 1 and 4 run on at most ``settings.upload_threads`` threads, taken in arrival order (anyio's limiter is
FIFO): the work is mostly Python under one GIL, so more threads would not take a burst faster, only starve the
event loop and every other request of it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import anyio
from starlette.requests import Request

from grader.http.bodies import BodyTooLarge
from grader.http.receive import receive_upload
from grader.service.errors import Invalid, PayloadTooLarge
from grader.service.submissions import Admission, count_refusal, take_upload

NO_FILE = "the form has no file field named 'file'; send the zip as -F file=@submission.zip"
EMPTY = "the uploaded file is empty; expected a zip of your beras/ folder"


async def take(request: Request, admission: Admission, *,
               check_fields: Callable[[dict[str, str]], None] | None = None, no_file: str = NO_FILE,
               empty: str = EMPTY) -> dict:
    """Receive the admitted upload's body and store it; the new submission as its owner sees it.

    Args:
        request: the upload request, its body not yet read.
        admission: what ``admit`` found before the body.
        check_fields: called with the form's text fields before anything is stored (the page's CSRF check).
        no_file, empty: the refusals when the form has no file, or an empty one.

    Raises:
        ServiceError: 429 too many uploads in flight or over the rate limit, 400/415 a bad form, 422 refused
            by intake; BodyTooLarge (413), BodyTimeout (408).
    """
    runtime = request.app.state.runtime
    settings = runtime.settings
    async with request.app.state.inflight.slot(admission.user_id):
        try:
            received = await receive_upload(request, settings.incoming_dir, settings.max_upload_bytes)
        except BodyTooLarge as error:
            await in_upload_thread(request, count_refusal, runtime, admission, PayloadTooLarge,
                                   error.detail)
            raise
        try:
            if check_fields is not None:
                check_fields(received.fields)
            if received.path is None:
                raise Invalid(no_file)
            if received.size == 0:
                raise Invalid(empty)
            return await in_upload_thread(request, take_upload, runtime, admission, received.path,
                                          received.filename)
        finally:
            received.discard()


async def in_upload_thread(request: Request, func, *args):
    """``func(*args)`` in a worker thread, holding one of the uploads' ``upload_threads`` tokens."""
    state = request.app.state
    # Made here: a limiter belongs to the running event loop.
    if getattr(state, "upload_limiter", None) is None:
        state.upload_limiter = anyio.CapacityLimiter(state.runtime.settings.upload_threads)
    return await anyio.to_thread.run_sync(partial(func, *args), limiter=state.upload_limiter)
