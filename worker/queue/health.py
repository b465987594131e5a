"""The worker's health endpoint: ``GET /healthz`` answers whether the broker and the database are
reachable."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import text

from worker.runtime import WorkerRuntime


def check(runtime: WorkerRuntime) -> tuple[bool, dict]:
    from kombu import Connection

    report = {"broker": "ok", "database": "ok", "sandbox": getattr(runtime.chosen_sandbox, "name", None)}
    try:
        with Connection(runtime.settings.broker_url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as error:  # noqa: BLE001
        report["broker"] = f"unreachable: {error}"
    try:
        with runtime.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001
        report["database"] = f"unreachable: {str(error).splitlines()[0]}"
    if runtime.gpu_checked:  # a gpu-queue worker: whether its sandbox can have a GPU (informative only)
        missing = runtime.gpu_missing()
        report["gpu"] = "ok" if missing is None else f"none: {missing}"
    healthy = report["broker"] == "ok" and report["database"] == "ok"
    return healthy, {"status": "ok" if healthy else "unhealthy", **report}


def serve_health(runtime: WorkerRuntime, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/healthz":
                healthy, report = check(runtime)
            else:
                healthy, report = False, {"error": "try /healthz"}
            body = json.dumps(report).encode()
            self.send_response(200 if healthy else (404 if "error" in report else 503))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
