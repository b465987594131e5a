"""Every response says nosniff and no-store (JSON, CSV, logs, errors, refusals); pages keep their own
headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from grader.app import create_app
from grader.service.users import add_user, new_token
from tests.service.conftest import Parked, make_runtime


@pytest.fixture
def client(tmp_path):
    runtime = make_runtime(tmp_path / "data")
    runtime.dispatcher = Parked(runtime)
    with runtime.sessions() as session:
        user, token = add_user(session, "ann@course.edu", "student")
        cookie = new_token(session, user, kind="session")
        session.commit()
    app = create_app(runtime, background=False)

    @app.get("/api/boom")
    def boom() -> dict:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        client.token, client.session_cookie = token, cookie
        yield client


def _has_defaults(response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_json_answers_and_json_errors_are_never_cached_or_sniffed(client):
    bearer = {"Authorization": f"Bearer {client.token}"}
    for response, status in ((client.get("/healthz"), 200), (client.get("/api/me", headers=bearer), 200),
                             (client.get("/api/me"), 401), (client.get("/api/nowhere", headers=bearer), 404),
                             (client.post("/api/session", json={"token": 3}), 422),
                             (client.get("/api/boom"), 500)):
        assert response.status_code == status, response.text
        _has_defaults(response)


def test_the_csrf_guard_s_own_refusal_carries_them_too(client):
    refused = client.post("/api/session", json={"token": "x"}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "another site" in refused.json()["error"]
    _has_defaults(refused)


def test_pages_keep_their_own_headers(client):
    page = client.get("/login")
    assert page.status_code == 200
    _has_defaults(page)
    assert (page.headers["x-frame-options"] == "DENY"
            and "frame-ancestors 'none'" in page.headers["content-security-policy"])
    styles = client.get("/static/app.css")
    assert styles.status_code == 200
    _has_defaults(styles)
