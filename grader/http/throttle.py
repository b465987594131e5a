"""Throttle: failed sign-ins counted per client address and per token prefix, refused with 429 past a rate.

A token bucket per key: ``burst`` failures at once, then ``per_s`` a second. Only failures cost: a class
behind one campus address signing in at the deadline is never slowed, while guessing is held to a few tries a
second from any address, and a token prefix guessed from many addresses is held the same way. The buckets live
in this process's memory (one API process serves the course; with several, each throttles its own share), the
oldest forgotten past ``max_keys``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from grader.service.errors import RateLimited

PREFIX_CHARS = 10  # "bg_" and 7 characters of the token


def keys_for(address: str | None, token: str) -> tuple[str, ...]:
    """The buckets one sign-in attempt draws on: its client address and its token's prefix."""
    return (f"address:{address or 'unknown'}", f"prefix:{token[:PREFIX_CHARS]}")


class Throttle:
    def __init__(self, burst: int, per_s: float, max_keys: int = 100_000) -> None:
        self.burst, self.per_s, self.max_keys = burst, per_s, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()  # sync routes call from worker threads

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.per_s)

    def check(self, keys: tuple[str, ...]) -> None:
        """Refuse the attempt before it is tried when any of its buckets is empty.

        Raises:
            ServiceError: 429 with ``retry_after_s``.
        """
        now = time.monotonic()
        with self._lock:
            short = max((1.0 - self._level(key, now) for key in keys), default=0.0)
        if short > 0:
            wait = max(1, math.ceil(short / self.per_s))
            raise RateLimited(f"too many failed sign-in attempts; try again in {wait} s",
                              retry_after_s=wait)

    def failed(self, keys: tuple[str, ...]) -> None:
        """Count one failed attempt against each of ``keys``."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._buckets[key] = (self._level(key, now) - 1.0, now)
                self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
