"""The worker process's Runtime, made once from the environment, with a Celery dispatcher for retries."""

from __future__ import annotations

from grader.runtime import Runtime

_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        from worker.queue.dispatch import make_dispatcher

        _runtime = Runtime()
        _runtime.dispatcher = make_dispatcher(_runtime)
    return _runtime


def set_runtime(value: Runtime) -> None:
    global _runtime
    _runtime = value
