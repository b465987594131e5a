"""Fixtures for the pages: the app over SQLite with beras-mlp published, four people, and a client per person."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from grader.api.app import create_app
from grader.service.releases import publish
from grader.service.users import add_user, new_token
from grader.web.csrf import token_for
from tests.service.conftest import make_runtime
from tests.service.conftest import Parked

PEOPLE = (("ann", "student"), ("ben", "student"), ("tom", "ta"), ("ida", "instructor"))


class Site:
    """The app in a TestClient, and each person's signed-in session (a cookie per request, no shared jar)."""

    def __init__(self, client: TestClient, runtime, sessions: dict[str, str], tokens: dict[str, str]) -> None:
        self.client, self.runtime, self.sessions, self.tokens = client, runtime, sessions, tokens

    def cookie(self, who: str | None) -> dict[str, str]:
        return {"Cookie": f"beras_session={self.sessions[who]}"} if who else {}

    def get(self, who: str | None, path: str, headers: dict | None = None, **kwargs):
        return self.client.get(path, headers={**self.cookie(who), **(headers or {})}, follow_redirects=False,
                               **kwargs)

    def post(self, who: str | None, path: str, data: dict | None = None, csrf: bool = True,
             headers: dict | None = None, **kwargs):
        data = dict(data or {})
        if csrf and who:
            data["csrf_token"] = token_for(self.sessions[who])
        return self.client.post(path, data=data, headers={**self.cookie(who), **(headers or {})},
                                follow_redirects=False, **kwargs)

    def count(self, model) -> int:
        with self.runtime.sessions() as session:
            return session.query(model).count()


def text_of(html: str) -> str:
    """The page's visible words, one space apart: assertions read what a person reads."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").replace("&amp;", "&").split())


@pytest.fixture
def site(tmp_path, mlp_release) -> Site:
    runtime = make_runtime(tmp_path / "data", sandbox="local", max_upload_mb=1)
    runtime.dispatcher = Parked(runtime)  # submissions stay queued: these tests look at pages, not grading
    sessions, tokens = {}, {}
    with runtime.sessions() as session:
        publish(session, runtime.blobs, *mlp_release)
        for who, role in PEOPLE:
            user, tokens[who] = add_user(session, f"{who}@course.edu", role, who.capitalize())
            sessions[who] = new_token(session, user, kind="session")
        session.commit()
    with TestClient(create_app(runtime, background=False)) as client:
        yield Site(client, runtime, sessions, tokens)
