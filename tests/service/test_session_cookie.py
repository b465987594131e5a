"""The session cookie's Secure flag: GRADER_SECURE_COOKIES, and `serve` believing only the proxies it is
told."""

from __future__ import annotations

import os
import subprocess

import httpx
import pytest
from fastapi.testclient import TestClient

from grader.app import create_app
from grader.service.users import add_user
from tests.service.conftest import Parked, make_runtime
from tests.service.processes import BIN, REPO, Service, free_port, wait_healthy


def _cookie_of(response) -> str:
    assert response.status_code in (200, 303), response.text
    return "; ".join(value for key, value in response.headers.multi_items() if key == "set-cookie").lower()


@pytest.mark.parametrize("mode, scheme, secure", [("auto", "http", False), ("auto", "https", True),
                                                  ("always", "http", True), ("never", "https", False)])
def test_the_session_cookie_is_secure_as_the_setting_says_on_the_api_and_the_pages(tmp_path, mode, scheme,
                                                                                   secure):
    runtime = make_runtime(tmp_path / "data", secure_cookies=mode)
    runtime.dispatcher = Parked(runtime)
    with runtime.sessions() as session:
        token = add_user(session, "ann@course.edu", "student")[1]
    with TestClient(create_app(runtime, background=False), base_url=f"{scheme}://testserver") as client:
        for response in (client.post("/api/session", json={"token": token}),
                         client.post("/login", data={"token": token}, follow_redirects=False)):
            cookie = _cookie_of(response)
            assert "beras_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
            assert ("; secure" in cookie) is secure
        # Signing out clears it with the same attributes, so the browser drops the cookie it holds.
        client.cookies.clear()
        cleared = _cookie_of(client.delete("/api/session"))
        assert 'beras_session=""' in cleared and ("; secure" in cleared) is secure


def test_serve_believes_x_forwarded_proto_only_from_the_proxies_it_is_told(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GRADER_")},
           "GRADER_DATA_DIR": str(tmp_path / "data"), "GRADER_FORWARDED_ALLOW_IPS": "127.0.0.5",
           # A broker URL: serve neither grades nor needs a sandbox; nothing is queued, so it is never
           # reached.
           "GRADER_BROKER_URL": "redis://127.0.0.1:1/0"}
    added = subprocess.run([str(BIN / "beras-grader"), "users", "add", "ann@course.edu"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    port = free_port()
    service = Service(["serve", "--port", str(port)], env, tmp_path / "serve.log").start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url + "/healthz")
        https = {"X-Forwarded-Proto": "https"}
        # The TLS proxy, at 127.0.0.5, says the browser came over https: the cookie is Secure.
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.5"), timeout=10) as proxy:
            assert ("; secure"
                    in _cookie_of(proxy.post(url + "/api/session", json={"token": token}, headers=https)))
        # Anyone else saying so is not believed.
        assert "; secure" not in _cookie_of(httpx.post(url + "/api/session", json={"token": token},
                                                       headers=https, timeout=10))
    finally:
        service.stop()
    assert "Traceback" not in service.text()
