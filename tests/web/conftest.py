"""Fixtures for the pages: the app over SQLite with beras-mlp published, four people, and a client per
person."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from grader.app import create_app
from grader.db import Assignment, Result, Status, Submission, User, utcnow
from grader.service.releases import publish
from grader.service.users import add_user, new_token
from grader.web.csrf import token_for
from tests.grading.conftest import ASSIGNMENTS
from tests.service.conftest import Parked, make_runtime

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

    def graded(self, who: str, tests: list[dict], late_days: int = 0, data: dict | None = None) -> int:
        """A graded submission of ``who`` with these test results, written straight to the database."""
        with self.runtime.sessions() as session:
            user = session.query(User).filter_by(email=f"{who}@course.edu").one()
            assignment = session.query(Assignment).one()
            created = utcnow()
            if late_days:  # late days are counted from the submission's time, as the gradebook does
                created = assignment.current_version.due_at + timedelta(days=late_days, hours=-1)
            row = Submission(created_at=created, user_id=user.id, assignment_id=assignment.id,
                             late_days=late_days,
                             version_id=assignment.current_version_id, blob_sha256="0" * 64, size=1,
                             filename="done.zip", status=Status.GRADED)
            session.add(row)
            session.flush()
            score = sum(t["score"] for t in tests)
            now = utcnow()
            result = Result(submission_id=row.id, version_id=row.version_id, status="graded", score=score,
                            max_score=sum(t["max_score"] for t in tests), received_at=now, started_at=now,
                            finished_at=now,
                            data={"status": "graded", "score": score, "tests": tests, "seed": 5, "output": "",
                                  **(data or {})})
            session.add(result)
            session.flush()
            row.current_result_id = result.id
            session.commit()
            return row.id

    def count(self, model) -> int:
        with self.runtime.sessions() as session:
            return session.query(model).count()


def result_test(name: str, visibility: str, passed: bool, points: float = 2.0, output: str = "",
                group: str = "g") -> dict:
    """One test's entry in a result, as the engine writes it."""
    return {"name": name, "number": name, "score": points if passed else 0.0, "max_score": points,
            "status": "passed" if passed else "failed", "outcome": "passed" if passed else "failed",
            "output": output, "visibility": visibility, "tags": [group]}


def text_of(html: str) -> str:
    """The page's visible words, one space apart: assertions read what a person reads."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").replace("&amp;", "&").split())


@pytest.fixture
def site(tmp_path, mlp_release) -> Site:
    assignments = tmp_path / "assignments"  # a copy: the TA pages edit and create assignment folders
    shutil.copytree(ASSIGNMENTS, assignments, ignore=shutil.ignore_patterns("__pycache__"))
    runtime = make_runtime(tmp_path / "data", sandbox="local", max_upload_mb=1)
    runtime.settings.assignments_dir = assignments
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
