"""A deadline burst against a running API: N uploads released at once, slow uploads from one student,
/healthz sampled.

Shared by ``tests/service/test_burst.py`` (40 + 16) and ``bench/surge.py --burst`` (100 + 16). The honest
uploads each come from their own student and leave together behind a barrier; the slow ones all come from one
student and send their body a byte at a time, a few seconds apart, on raw sockets (as a slow-loris client
would); a sampler asks /healthz every quarter second from before the first slow upload to after the last
honest answer.
"""

from __future__ import annotations

import select
import socket
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx


@dataclass
class Answer:
    """One request's outcome: the HTTP status (None when no answer came: ``error`` says why) and its
    latency."""

    status: int | None
    seconds: float
    error: str = ""


@dataclass
class BurstReport:
    honest: list[Answer] = field(default_factory=list)
    slow: list[Answer] = field(default_factory=list)
    health: list[Answer] = field(default_factory=list)

    def honest_ok(self, within_s: float) -> bool:
        return all(a.status == 201 and a.seconds <= within_s for a in self.honest)

    def health_ok(self, within_s: float) -> bool:
        return bool(self.health) and all(a.status == 200 and a.seconds <= within_s for a in self.health)

    def lines(self, honest_target_s: float, health_target_s: float) -> list[str]:
        """The figures for a person: statuses, latency percentiles, and whether each target was met."""
        out = [f"  honest uploads ({len(self.honest)}): {_statuses(self.honest)}; latency "
               f"{_spread(self.honest)} (target: every one 201 within {honest_target_s:g} s: "
               f"{'met' if self.honest_ok(honest_target_s) else 'MISSED'})"]
        if self.slow:
            out.append(f"  slow uploads ({len(self.slow)}, one student): {_statuses(self.slow)}; answered "
                       "after "
                       f"{_spread(self.slow)}")
        out.append(f"  /healthz ({len(self.health)} samples): {_statuses(self.health)}; latency "
                   f"{_spread(self.health)} (target: 200 within {health_target_s:g} s throughout: "
                   f"{'met' if self.health_ok(health_target_s) else 'MISSED'})")
        errors = sorted({a.error for a in self.honest + self.health if a.error})
        if errors:
            out.append("  errors: " + "; ".join(errors[:4]))
        return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _spread(answers: list[Answer]) -> str:
    seconds = [a.seconds for a in answers]
    if not seconds:
        return "-"
    return (f"p50 {pct(seconds, .5):.2f} s, p95 {pct(seconds, .95):.2f} s, max {max(seconds):.2f} s"
            f" (mean {statistics.mean(seconds):.2f} s)")


def _statuses(answers: list[Answer]) -> str:
    counts: dict[str, int] = {}
    for answer in answers:
        key = str(answer.status) if answer.status is not None else "no answer"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{key} x{n}" for key, n in sorted(counts.items()))


def multipart(data: bytes, filename: str = "submission.zip") -> tuple[bytes, str]:
    """A multipart/form-data body with ``data`` as the field ``file``, and its Content-Type."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/zip\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _slow_upload(url: str, token: str, data: bytes, every_s: float, stop: threading.Event,
                 into: list[Answer]) -> None:
    """Send the headers, then the body a byte every ``every_s`` seconds until the server answers or
    ``stop``."""
    parts = urlsplit(url)
    body, content_type = multipart(data)
    started = time.monotonic()
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
            sock.sendall((f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                          f"Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode())
            sent = 0
            while not stop.is_set():
                readable, _, _ = select.select([sock], [], [], every_s)
                if readable:
                    reply = sock.recv(4096)
                    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else None
                    into.append(Answer(status, time.monotonic() - started,
                                       "" if status else "closed unanswered"))
                    return
                if sent < len(body):
                    sock.sendall(body[sent:sent + 1])
                    sent += 1
            into.append(Answer(None, time.monotonic() - started, "still open at the end of the burst"))
    except OSError as error:
        into.append(Answer(None, time.monotonic() - started, f"slow upload: {type(error).__name__}: {error}"))


def run_burst(api: str, path: str, tokens: list[str], data: bytes, slow_token: str | None = None,
              slow: int = 16,
              slow_every_s: float = 3.0, timeout_s: float = 120.0, slow_head_start_s: float = 2.0,
              slow_wait_s: float = 0.0) -> BurstReport:
    """Upload ``data`` once per token, all at the same instant, while ``slow`` slow uploads from
    ``slow_token`` run.

    Args:
        api: the service's base URL, e.g. ``http://127.0.0.1:8000``.
        path: the upload route, e.g. ``/api/assignments/beras-mlp/submissions``.
        tokens: one API token per honest student.
        data: the zip every honest student uploads.
        slow_token: the token of the student who opens the slow uploads (None: no slow uploads).
        slow: how many slow uploads.
        slow_every_s: seconds between two bytes of a slow upload.
        timeout_s: how long an honest upload may take before it counts as unanswered.
        slow_head_start_s: the slow uploads start this long before the burst.
        slow_wait_s: after the last honest answer, how long to wait for the server to answer the slow uploads
            (those still open then are cut off and reported so).

    Returns:
        Every honest, slow and health answer.
    """
    report = BurstReport()
    done = threading.Event()
    url = api + path

    def sample_health() -> None:
        with httpx.Client(timeout=30) as client:
            while not done.is_set():
                started = time.monotonic()
                try:
                    status, error = client.get(f"{api}/healthz").status_code, ""
                except httpx.HTTPError as why:
                    status, error = None, f"/healthz: {type(why).__name__}"
                report.health.append(Answer(status, time.monotonic() - started, error))
                done.wait(0.25)

    sampler = threading.Thread(target=sample_health, daemon=True)
    sampler.start()
    stop_slow = threading.Event()
    slow_threads = [threading.Thread(target=_slow_upload,
                                     args=(url, slow_token, data, slow_every_s, stop_slow,
                                                                 report.slow), daemon=True)
                    for _ in range(slow if slow_token else 0)]
    for thread in slow_threads:
        thread.start()
    time.sleep(slow_head_start_s if slow_threads else 0)

    barrier = threading.Barrier(len(tokens))
    answers: list[Answer | None] = [None] * len(tokens)

    def upload(index: int) -> None:
        body, content_type = multipart(data)
        headers = {"Authorization": f"Bearer {tokens[index]}", "Content-Type": content_type}
        with httpx.Client(timeout=timeout_s) as client:
            barrier.wait()
            started = time.monotonic()
            try:
                reply = client.post(url, headers=headers, content=body)
                answers[index] = Answer(reply.status_code, time.monotonic() - started,
                                        "" if reply.status_code == 201 else reply.text[:200])
            except httpx.HTTPError as why:
                answers[index] = Answer(None, time.monotonic() - started, f"upload: {type(why).__name__}")

    honest = [threading.Thread(target=upload, args=(i,), daemon=True) for i in range(len(tokens))]
    for thread in honest:
        thread.start()
    for thread in honest:
        thread.join()
    report.honest = [a for a in answers if a is not None]
    time.sleep(1.0)  # a few more health samples after the last answer
    until = time.monotonic() + slow_wait_s
    for thread in slow_threads:
        thread.join(max(0.0, until - time.monotonic()))
    stop_slow.set()
    for thread in slow_threads:
        thread.join(slow_every_s + 15)
    done.set()
    sampler.join(35)
    return report
