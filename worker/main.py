"""The worker process composed in one place: its runtime, the Celery transport, the reconciler and the health
endpoint; and the queue the API opens."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from grader.db.engine import printable_url
from grader.dispatch import QUEUES, QueueName
from grader.settings import Settings
from worker.queue.celery_app import CeleryDispatcher
from worker.queue.dispatch import EmbeddedDispatcher, SendingDispatcher
from worker.queue.health import check, serve_health
from worker.queue.reconciler import Reconciler, reconcile
from worker.runtime import WorkerRuntime


class WorkerError(Exception):
    """The worker cannot start; the message says what to fix, ``code`` is the exit status (2: usage)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def make_dispatcher(runtime: WorkerRuntime) -> SendingDispatcher:
    """Celery when ``runtime.settings.broker_url`` is set, else an in-process pool grading on ``runtime``."""
    return CeleryDispatcher(runtime) if runtime.settings.broker_url else EmbeddedDispatcher(runtime)


def open_queue(runtime: WorkerRuntime, background: bool) -> Callable[[], None]:
    """Attach a dispatcher to ``runtime`` (unless one is) and, with ``background``, start the reconciler.

    This is what the API app calls on start (``create_app(..., open_queue=open_queue)``).

    Returns:
        What to call on stop: it stops the reconciler and closes the dispatcher.
    """
    if runtime.dispatcher is None:
        runtime.dispatcher = make_dispatcher(runtime)
    dispatcher = runtime.dispatcher
    reconciler = Reconciler(runtime).start() if background else None

    def close() -> None:
        if reconciler:
            reconciler.stop()
        dispatcher.close()

    return close


def queue_names(text: str) -> list[QueueName]:
    """The comma-separated queue names in ``text``.

    Raises:
        WorkerError: none given, or one that is not a queue (code 2).
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in QUEUES]
    if not names or unknown:
        raise WorkerError(f"unknown queue(s) {', '.join(unknown) or '(none given)'}; expected some of: "
                          f"{', '.join(QUEUES)}", 2)
    return [QueueName(name) for name in names]


def run_worker(settings: Settings, queues: Sequence[str], concurrency: int, health_port: int | None,
               health_host: str = "127.0.0.1", log_level: str = "info") -> None:
    """Grade submissions from the broker's ``queues`` in the configured sandbox until stopped.

    One process keeps the database pool, the reconciler and the health endpoint together, and grades in
    threads, not forked processes: each job's work happens in its sandbox.

    Raises:
        WorkerError: no broker is set (code 2), or the database, the broker or a sandbox cannot be reached.
    """
    names = queue_names(",".join(queues))
    runtime = _worker_runtime(settings)
    _, report = check(runtime)
    if report["broker"] != "ok":
        raise WorkerError(f"cannot reach the broker at {printable_url(settings.broker_url)}: "
                          f"{report['broker']}")
    try:
        sandbox = runtime.sandbox()
    except Exception as error:  # noqa: BLE001
        raise WorkerError(f"no sandbox can run on this worker: {error}") from None
    gpu_note = _check_gpu(runtime) if QueueName.GPU in names else ""
    dispatcher = CeleryDispatcher(runtime).grades(runtime)
    runtime.dispatcher = dispatcher
    Reconciler(runtime).start()
    if health_port is not None:
        serve_health(runtime, health_host, health_port)
    print(f"worker: queues {','.join(names)}, concurrency {concurrency}, sandbox {sandbox.name}{gpu_note}",
          file=sys.stderr)
    dispatcher.app.worker_main(["worker", "-Q", ",".join(names), "-c", str(concurrency), "--pool", "threads",
                                "-l", log_level.upper(), "-n", f"beras-{os.getpid()}@%h",
                                "--without-gossip", "--without-mingle"])


def _check_gpu(runtime: WorkerRuntime) -> str:
    """The GPU check of a worker that serves the gpu queue, run once on start: a note for its start line.

    A worker without a GPU still starts: the first gpu job it takes is recorded as failed to grade, with the
    reason, and handed back; from then on it takes no more from the gpu queue (its other queues go on).
    """
    try:
        missing = runtime.gpu_missing()
    except Exception as error:  # noqa: BLE001 (it is checked again, and said, at the first gpu job)
        missing = f"the GPU check could not run: {error}"
    if missing is None:
        return f", GPU: yes (GRADER_GPU={runtime.settings.gpu})"
    print(f"worker: WARNING: this worker serves the gpu queue but cannot give a sandbox a GPU: {missing}. "
          "Its first gpu job is recorded as failed to grade and handed back for a worker with a GPU.",
          file=sys.stderr)
    return ", GPU: none"


def reconcile_once(settings: Settings) -> list[int]:
    """One reconciler pass through the broker; the ids sent again.

    Raises:
        WorkerError: no broker is set (code 2), or the database cannot be opened.
    """
    if not settings.broker_url:
        raise WorkerError("reconcile re-sends jobs through the broker; set GRADER_BROKER_URL (embedded "
                          "`serve` reconciles itself)", 2)
    runtime = open_runtime(settings)
    runtime.dispatcher = CeleryDispatcher(runtime)
    return reconcile(runtime)


def _worker_runtime(settings: Settings) -> WorkerRuntime:
    if not settings.broker_url:
        raise WorkerError("a worker needs a broker: set GRADER_BROKER_URL (e.g. redis://127.0.0.1:6379/0). "
                          "Without one, `beras-grader serve` grades in-process.", 2)
    return open_runtime(settings)


def open_runtime(settings: Settings) -> WorkerRuntime:
    """A runtime over ``settings`` with the database migrated (the CLI's and the worker's).

    Raises:
        WorkerError: the database cannot be opened (the message names it, its password blanked).
    """
    runtime = WorkerRuntime(settings)
    try:
        runtime.migrate()
    except Exception as error:  # noqa: BLE001 (a wrong URL or a database that is down: say which)
        raise WorkerError(f"cannot open the database {printable_url(runtime.settings.database)}: "
                          f"{str(error).splitlines()[0]}") from None
    return runtime
