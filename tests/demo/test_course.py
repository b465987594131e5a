"""`beras-grader demo --serve`: the demo course is seeded, served, and its printed logins work."""

from __future__ import annotations

import os
import re
import subprocess
import time

import httpx
import pytest

from grader.authoring.gate_cache import CACHE_ENV
from tests.grading.conftest import REPO, require_local_sandbox
from tests.service.processes import BIN, free_port

pytestmark = [pytest.mark.slow, pytest.mark.grading]


def _read_until(process: subprocess.Popen, pattern: str, timeout: float) -> str:
    """The output up to and including the first line matching ``pattern``."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError("the demo stopped early:\n" + "".join(seen))
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    raise TimeoutError("".join(seen))


def test_demo_serve_seeds_a_course_and_prints_logins_that_sign_in(tmp_path, gate_cache):
    require_local_sandbox()
    port = free_port()
    process = subprocess.Popen([str(BIN / "beras-grader"), "demo", "--serve", "--sandbox", "local", "--port",
                                str(port), "--data-dir", str(tmp_path / "demo"),
                                # The gate tests' seed: check 8 takes its runs from their cache
                                # (~/.cache/beras-grader).
                                "--seed", "7"], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               # the gate tests' reports of the same releases (the gate is tested there)
                               env={**os.environ, "PYTHONUNBUFFERED": "1", CACHE_ENV: str(gate_cache)},
                               start_new_session=True)
    try:
        output = _read_until(process, r"Ctrl-C stops the server", timeout=900)
        assert f"open http://127.0.0.1:{port}/login" in output
        logins = dict(re.findall(r"^\s+(?:instructor|ta|student)\s+(\S+@demo\.edu)\s+(bg_\S+)$", output,
                                 re.M))
        assert len(logins) == 12 and "ida@demo.edu" in logins
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as client:
            signed = client.post("/login", data={"token": logins["ida@demo.edu"]})
            assert signed.status_code == 200 and "Gradebook" in signed.text  # followed to the gradebook
            grades = client.get("/api/assignments/beras-mlp/grades").json()["rows"]
            scores = [row["score"] for row in grades]
            assert len(grades) == 10 and None not in scores  # every student graded
            assert len(set(scores)) >= 3  # the variants give the reports a spread
            assert any(row["late_days"] for row in grades) and max(scores) == 100
            report = client.get("/instructor/assignments/beras-cnn/report")
            assert report.status_code == 200 and report.text.count("<svg") >= 2
        with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as student:
            assert student.post("/login", data={"token": logins["ada@demo.edu"]}).status_code == 200
            page = student.get("/assignments").text
            assert "beras-mlp" in page and "beras-cnn" in page
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)
