"""InFlight: each student's uploads in flight in this process; one over the limit is refused at once.

A student's slow uploads then hold at most ``limit`` slots, and only their own: the rest get 429 before a byte
of their body is read. The count lives in this process (one API process serves the course; with several, each
counts its own) and is only touched on the event loop, so a check and its increment cannot interleave.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from grader.service.errors import RateLimited


class InFlight:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count: dict[int, int] = {}

    @asynccontextmanager
    async def slot(self, user_id: int):
        """Hold one of ``user_id``'s slots for the body of the ``async with``.

        Raises:
            ServiceError: 429 when the student already has ``limit`` uploads in flight.
        """
        held = self._count.get(user_id, 0)
        if held >= self.limit:
            raise RateLimited(f"you already have {held} upload(s) in progress (at most {self.limit} at a "
                              "time); wait for them to finish, then submit again", retry_after_s=5)
        self._count[user_id] = held + 1
        try:
            yield
        finally:
            left = self._count[user_id] - 1
            if left:
                self._count[user_id] = left
            else:
                del self._count[user_id]
