"""/healthz's database probe: shared by concurrent callers, cached briefly, never hanging on a slow
database."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager

from grader.api.health import HealthCheck


class FakeRuntime:
    """A runtime whose probe session counts its SELECTs, waits for ``gate`` when set, or raises ``error``."""

    def __init__(self) -> None:
        self.selects = 0
        self.gate: threading.Event | None = None
        self.error: Exception | None = None

    @contextmanager
    def probe(self):
        runtime = self

        class Session:
            def execute(self, _statement):
                runtime.selects += 1
                if runtime.gate is not None:
                    runtime.gate.wait(5)
                if runtime.error is not None:
                    raise runtime.error

        yield Session()


def test_callers_at_once_share_one_probe_and_a_fresh_answer_is_reused():
    runtime = FakeRuntime()
    check = HealthCheck(runtime, fresh_s=60)

    async def many():
        return await asyncio.gather(*(check.database() for _ in range(20)))

    assert asyncio.run(many()) == ["ok"] * 20
    assert runtime.selects == 1


def test_a_slow_probe_answers_at_once_with_a_recent_success_else_says_slow():
    runtime = FakeRuntime()
    check = HealthCheck(runtime, fresh_s=0, wait_s=0.2, stale_s=60)

    async def scenario():
        assert await check.database() == "ok"
        runtime.gate = threading.Event()  # the database stops answering
        started = time.monotonic()
        recent = await check.database()
        waited = time.monotonic() - started
        check._last_ok -= 120  # the last success is now old
        stale = await check.database()
        runtime.gate.set()
        return recent, waited, stale

    recent, waited, stale = asyncio.run(scenario())
    assert recent == "ok" and waited < 2
    assert stale.startswith("slow: no answer to SELECT 1 within 0.2 s")


def test_an_unreachable_database_is_named():
    runtime = FakeRuntime()
    runtime.error = OSError("connection refused\ndetails")
    assert asyncio.run(HealthCheck(runtime).database()) == "unreachable: connection refused"
