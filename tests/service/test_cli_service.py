"""The service commands refuse bad settings and missing parts with a message, never a traceback."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.service.processes import BIN, REPO


def _run(args: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    return subprocess.run([str(BIN / "beras-grader"), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env={**clean, "GRADER_DATA_DIR": str(tmp_path / "data"), **env})


@pytest.mark.parametrize("command", [["worker"], ["reconcile"], ["serve"], ["users", "add", "a@b.edu"]])
def test_an_invalid_setting_is_named(command, tmp_path):
    done = _run(command, tmp_path, GRADER_LEASE_S="abc", GRADER_BROKER_URL="redis://127.0.0.1:1/0")
    assert done.returncode == 2
    assert "invalid GRADER_* setting: GRADER_LEASE_S" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [["worker"], ["reconcile"]])
def test_commands_that_need_a_broker_say_so_before_touching_the_database(command, tmp_path):
    done = _run(command, tmp_path)
    assert done.returncode == 2 and "GRADER_BROKER_URL" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("variable, value, expected", [
    ("GRADER_FORWARDED_ALLOW_IPS", "proxy.example", "'proxy.example' is not an IP address or network"),
    ("GRADER_FORWARDED_ALLOW_IPS", "10.0.0.1/8", "has host bits set"),
    ("GRADER_SECURE_COOKIES", "yes", "'auto', 'always' or 'never'"),
])
def test_serve_names_a_bad_proxy_or_cookie_setting(variable, value, expected, tmp_path):
    done = _run(["serve"], tmp_path, **{variable: value})
    assert (done.returncode == 2 and f"invalid GRADER_* setting: {variable}" in done.stderr
            and expected in done.stderr)
    assert "Traceback" not in done.stderr
