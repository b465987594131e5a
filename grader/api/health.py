"""HealthCheck: /healthz's database probe, on its own connection and thread, shared by concurrent callers.

At the deadline every request thread and pooled connection may be busy with uploads; a health check that
queued behind them would call a busy server dead. The probe runs ``SELECT 1`` on a one-connection pool of its
own, in a thread of its own (its own limiter, not the request threads'), at most one probe at a time: callers
that arrive while one runs wait for it, and a result younger than ``fresh_s`` is reused. A probe that has not
answered within ``wait_s`` never makes the check hang: it answers with the last success if that is younger
than ``stale_s`` (a server busy with a burst is busy, not down), else "slow".
"""

from __future__ import annotations

import asyncio
import time

import anyio
from sqlalchemy import text


class HealthCheck:
    def __init__(self, runtime, fresh_s: float = 1.0, wait_s: float = 0.5, stale_s: float = 10.0) -> None:
        self.runtime, self.fresh_s, self.wait_s, self.stale_s = runtime, fresh_s, wait_s, stale_s
        self._last: tuple[float, str] | None = None  # (when, "ok" or the problem)
        self._last_ok: float | None = None
        self._probe: asyncio.Task | None = None
        self._limiter: anyio.CapacityLimiter | None = None

    async def database(self) -> str:
        """``"ok"``, or what is wrong with the database (unreachable, or slower than ``wait_s``)."""
        if self._last is not None and time.monotonic() - self._last[0] < self.fresh_s:
            return self._last[1]
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(self._run())
        try:
            return await asyncio.wait_for(asyncio.shield(self._probe), self.wait_s)
        except TimeoutError:
            if self._last_ok is not None and time.monotonic() - self._last_ok < self.stale_s:
                return "ok"
            return f"slow: no answer to SELECT 1 within {self.wait_s:g} s"

    async def _run(self) -> str:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(1)
        try:
            await anyio.to_thread.run_sync(self._select_one, limiter=self._limiter)
            outcome, self._last_ok = "ok", time.monotonic()
        except Exception as error:  # noqa: BLE001 (any failure is the answer)
            outcome = f"unreachable: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
        self._last = (time.monotonic(), outcome)
        return outcome

    def _select_one(self) -> None:
        with self.runtime.probe() as session:
            session.execute(text("SELECT 1"))
