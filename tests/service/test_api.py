"""The HTTP API in process (SQLite, the embedded pool): the contract, roles, JSON errors, uploads, regrades."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from grader.api.app import create_app
from grader.db import Result, Submission
from grader.service.releases import publish
from grader.service.users import add_user
from tests.grading.conftest import REQUIRE_SANDBOXES
from tests.service.conftest import make_runtime, submission
from worker.grading.samples import build_zip
from worker.queue.dispatch import EmbeddedDispatcher
from worker.sandbox import SandboxUnavailable, choose_sandbox

URL = "/api/assignments/beras-mlp/submissions"


class Api:
    def __init__(self, client: TestClient, runtime, tokens: dict[str, str]) -> None:
        self.client, self.runtime, self.tokens = client, runtime, tokens

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def submit(self, who: str, data: bytes, **kwargs):
        return self.client.post(URL, headers=self.auth(who), files={"file": ("s.zip", data, "application/zip")}, **kwargs)

    def count(self, model=Submission) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(model))

    def wait(self, who: str, submission_id: int, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view = self.client.get(f"/api/submissions/{submission_id}", headers=self.auth(who)).json()
            if view["status"] not in ("queued", "running"):
                return view
            time.sleep(0.3)
        raise TimeoutError(f"submission {submission_id} still {view['status']}")


@pytest.fixture
def api(tmp_path, mlp_release, request):
    """The app over a fresh SQLite database; ``grading`` marks tests whose pool grades in the local sandbox."""
    runtime = make_runtime(tmp_path / "data", sandbox="local", max_upload_mb=1, reconcile_every_s=0.5)
    if request.node.get_closest_marker("grading"):
        try:
            choose_sandbox("local")
        except SandboxUnavailable as why:
            if REQUIRE_SANDBOXES:
                pytest.fail(f"the local sandbox is required here: {why}")
            pytest.skip(f"not run: no local sandbox ({why})")
        runtime.dispatcher = EmbeddedDispatcher(runtime, workers=1)
    else:
        runtime.dispatcher = _Parked(runtime)
    tokens = {}
    with runtime.sessions() as session:
        publish(session, runtime.blobs, *mlp_release)
        for who, role in (("ann", "student"), ("ben", "student"), ("tom", "ta"), ("ida", "instructor")):
            tokens[who] = add_user(session, f"{who}@course.edu", role)[1]
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime, tokens)


class _Parked(EmbeddedDispatcher):
    """The embedded pool with no threads: submissions stay queued, for tests of the API alone."""

    def __init__(self, runtime):
        super().__init__(runtime, workers=1)
        self.close()


def test_openapi_lists_the_contract(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/api/assignments", "/api/assignments/{name}/starter.zip", URL.replace("beras-mlp", "{name}"),
                 "/api/submissions/{submission_id}", "/api/assignments/{name}/release",
                 "/api/assignments/{name}/grades.csv", "/healthz"):
        assert path in paths
    assert api.client.get("/healthz").json()["status"] == "ok"


def test_credentials_are_required_and_checked(api):
    assert api.client.get("/api/assignments").status_code == 401
    wrong = api.client.get("/api/assignments", headers={"Authorization": "Token abc"})
    assert wrong.status_code == 401 and "Bearer" in wrong.json()["error"]
    assert api.client.get("/api/assignments", headers={"Authorization": "Bearer bg_nope"}).status_code == 401
    listed = api.client.get("/api/assignments", headers=api.auth("ann")).json()
    assert [a["name"] for a in listed] == ["beras-mlp"] and listed[0]["max_score"] == 100.0


def test_starter_zip_downloads(api, mlp_release):
    response = api.client.get("/api/assignments/beras-mlp/starter.zip", headers=api.auth("ann"))
    assert response.status_code == 200 and response.content == mlp_release[1].read_bytes()
    assert api.client.get("/api/assignments/nope/starter.zip", headers=api.auth("ann")).status_code == 404


def test_submit_returns_201_queued_and_the_newer_one_supersedes(api, mlp):
    first = api.submit("ann", submission(mlp))
    assert first.status_code == 201 and first.json()["status"] == "queued"
    assert first.headers["location"] == f"/api/submissions/{first.json()['id']}"
    second = api.submit("ann", submission(mlp)).json()
    view = api.client.get(f"/api/submissions/{first.json()['id']}", headers=api.auth("ann")).json()
    assert view["status"] == "superseded" and "newer submission" in view["output"]
    mine = api.client.get(URL, headers=api.auth("ann")).json()
    assert [s["id"] for s in mine] == [second["id"], first.json()["id"]]
    assert api.client.get(URL, headers=api.auth("ben")).json() == []
    assert api.client.get(URL + "?all=true", headers=api.auth("ben")).status_code == 403
    assert len(api.client.get(URL + "?all=true", headers=api.auth("tom")).json()) == 2


@pytest.mark.parametrize("case", ["not a zip", "nothing owned", "unknown assignment", "no file field", "not multipart",
                                  "empty", "declared too big", "streamed too big"])
def test_bad_uploads_are_refused_clearly_and_store_nothing(api, case):
    blobs_before = sorted(api.runtime.blobs.root.rglob("*"))
    auth = api.auth("ann")
    if case == "not a zip":
        response, status = api.submit("ann", b"hello"), 422
    elif case == "nothing owned":
        response, status = api.submit("ann", build_zip({"beras/notes.txt": "hi"})), 422
    elif case == "unknown assignment":
        response = api.client.post("/api/assignments/nope/submissions", headers=auth,
                                   files={"file": ("s.zip", b"x", "application/zip")})
        status = 404
    elif case == "no file field":
        response, status = api.client.post(URL, headers=auth, files={"upload": ("s.zip", b"x", "application/zip")}), 400
    elif case == "not multipart":
        response, status = api.client.post(URL, headers=auth, content=b"raw"), 415
    elif case == "empty":
        response, status = api.submit("ann", b""), 400
    elif case == "declared too big":
        response, status = api.submit("ann", b"0" * (2 * 2**20)), 413
    else:
        def chunks():
            for _ in range(40):
                yield b"0" * 2**16
        response = api.client.post(URL, headers={**auth, "Content-Type": "multipart/form-data; boundary=x"},
                                   content=chunks())
        status = 413
    assert response.status_code == status, response.text
    assert set(response.json()) >= {"error"} and len(response.json()["error"]) > 20
    assert "Traceback" not in response.text
    assert api.count() == 0 and sorted(api.runtime.blobs.root.rglob("*")) == blobs_before


def test_roles_and_unknown_ids(api):
    for path, method in (("/api/assignments/beras-mlp/release", "post"), ("/api/assignments/beras-mlp/regrade", "post"),
                         ("/api/assignments/beras-mlp/grades.csv", "get"), ("/api/assignments/beras-mlp/grades", "get")):
        response = getattr(api.client, method)(path, headers=api.auth("ann"))
        assert response.status_code == 403 and "ann@course.edu (student)" in response.json()["error"]
    assert api.client.get("/api/assignments/beras-mlp/grades.csv", headers=api.auth("tom")).status_code == 403
    assert api.client.get("/api/submissions/4242", headers=api.auth("ida")).status_code == 404
    assert api.client.get("/api/submissions/abc", headers=api.auth("ida")).status_code == 422
    assert api.client.post("/api/submissions/4242/regrade", headers=api.auth("tom")).status_code == 404
    assert api.client.get("/api/no/such/route", headers=api.auth("ann")).json()["error"].startswith("no such route")


def test_release_of_an_unknown_or_invalid_assignment_is_refused(api):
    response = api.client.post("/api/assignments/no-such/release", headers=api.auth("tom"))
    assert response.status_code == 404 and "assignment.toml" in response.json()["error"]
    assert api.client.post("/api/assignments/..%2Fetc/release", headers=api.auth("tom")).status_code in (400, 404)


def test_a_session_cookie_signs_in_and_out(api):
    assert api.client.post("/api/session", json={"token": "bg_wrong"}).status_code == 401
    signed = api.client.post("/api/session", json={"token": api.tokens["ben"]})
    assert signed.status_code == 200 and "beras_session" in signed.cookies
    assert api.client.get("/api/me").json()["email"] == "ben@course.edu"
    api.client.delete("/api/session")
    api.client.cookies.clear()
    assert api.client.get("/api/me").status_code == 401


def test_extensions_are_granted_by_staff(api):
    granted = api.client.post("/api/assignments/beras-mlp/extensions", headers=api.auth("tom"),
                              json={"email": "ann@course.edu", "days": 2})
    assert granted.status_code == 200
    mine = api.client.get("/api/assignments/beras-mlp", headers=api.auth("ann")).json()
    theirs = api.client.get("/api/assignments/beras-mlp", headers=api.auth("ben")).json()
    assert mine["extension_days"] == 2 and mine["due_at"] > theirs["due_at"]
    bad = api.client.post("/api/assignments/beras-mlp/extensions", headers=api.auth("tom"),
                          json={"email": "ann@course.edu", "days": -1})
    assert bad.status_code == 422 and "days" in bad.json()["error"]


@pytest.mark.grading
def test_embedded_mode_grades_and_a_regrade_keeps_history(api, mlp):
    buggy = submission(mlp, append={"beras/metrics.py": "CategoricalAccuracy.forward = lambda self, p, l: 0.0\n"})
    first = api.submit("ann", buggy).json()
    view = api.wait("ann", first["id"])
    assert view["status"] == "graded" and view["score"] <= view["max_score"]
    staff = api.client.get(f"/api/submissions/{first['id']}", headers=api.auth("tom")).json()
    assert 0 < staff["score"] < 100
    regraded = api.client.post(f"/api/submissions/{first['id']}/regrade", headers=api.auth("tom"))
    assert regraded.status_code == 200 and regraded.json()["queued"] == [first["id"]]
    again = api.wait("tom", first["id"])
    assert again["status"] == "graded" and again["result_id"] != staff["result_id"]
    history = api.client.get(f"/api/submissions/{first['id']}/history", headers=api.auth("tom")).json()
    assert [h["result_id"] for h in history] == [again["result_id"], staff["result_id"]]
    assert api.count(Result) == 2
    rows = api.client.get("/api/assignments/beras-mlp/grades?policy=latest", headers=api.auth("ida")).json()["rows"]
    ann = next(r for r in rows if r["email"] == "ann@course.edu")
    assert ann["score"] == again["score"] and ann["submission_id"] == first["id"]
