"""The HTTP API in process (SQLite, the embedded pool): the contract, roles, JSON errors, uploads,
regrades."""

from __future__ import annotations

import pytest

from grader.db import Result
from tests.service.conftest import URL, make_runtime, open_api, submission
from worker.grading.samples import build_zip


@pytest.fixture
def api(tmp_path, mlp_release, request):
    """The app over a fresh SQLite database with beras-mlp published; ``grading`` tests grade in a sandbox."""
    runtime = make_runtime(tmp_path / "data", sandbox="local", max_upload_mb=1, reconcile_every_s=0.5)
    with open_api(runtime, request, mlp_release) as api:
        yield api


def test_openapi_lists_the_contract(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/api/assignments", "/api/assignments/{name}/starter.zip",
                 URL.replace("beras-mlp", "{name}"),
                 "/api/submissions/{submission_id}", "/api/assignments/{name}/release",
                 "/api/assignments/{name}/grades.csv", "/healthz", "/api/assignments/{name}/gate",
                 "/api/gates/{gate_id}", "/api/gates/{gate_id}/publish", "/api/assignments/{name}/gates",
                 "/api/regrades/{batch_id}", "/api/submissions/{submission_id}/replay",
                 "/api/assignments/{name}/versions/regrade",
                 "/api/assignments/{name}/versions/{version}/regrade"):
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


def test_submit_returns_201_queued_and_the_newer_one_defers_the_older(api, mlp):
    first = api.submit("ann", submission(mlp))
    assert first.status_code == 201 and first.json()["status"] == "queued"
    assert first.headers["location"] == f"/api/submissions/{first.json()['id']}"
    second = api.submit("ann", submission(mlp)).json()
    view = api.client.get(f"/api/submissions/{first.json()['id']}", headers=api.auth("ann")).json()
    assert view["status"] == "deferred" and "newer submission is graded first" in view["output"]
    assert "best score" in view["output"]
    mine = api.client.get(URL, headers=api.auth("ann")).json()
    assert [s["id"] for s in mine] == [second["id"], first.json()["id"]]
    assert api.client.get(URL, headers=api.auth("ben")).json() == []
    assert api.client.get(URL + "?all=true", headers=api.auth("ben")).status_code == 403
    assert len(api.client.get(URL + "?all=true", headers=api.auth("tom")).json()) == 2


@pytest.mark.parametrize("case", ["not a zip", "nothing owned", "unknown assignment", "no file field",
                                  "not multipart", "empty", "declared too big", "streamed too big"])
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
        response, status = api.client.post(URL, headers=auth,
                                           files={"upload": ("s.zip", b"x", "application/zip")}), 400
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


def test_roles_and_unknown_ids(api, mlp):
    own = api.submit("ann", submission(mlp)).json()["id"]  # the student's own: still staff-only routes
    mlp_path = "/api/assignments/beras-mlp"
    staff_only = ((f"{mlp_path}/release", "post"), (f"{mlp_path}/regrade", "post"),
                  (f"{mlp_path}/grades.csv", "get"),
                  (f"{mlp_path}/grades", "get"), (f"{mlp_path}/gate", "post"), (f"{mlp_path}/gates", "get"),
                  ("/api/gates/1", "get"), ("/api/gates/1/publish", "post"), ("/api/regrades/1", "get"),
                  (f"/api/submissions/{own}/replay", "post"), (f"/api/submissions/{own}/regrade", "post"),
                  (f"/api/submissions/{own}/history", "get"), (f"{mlp_path}/versions/regrade", "get"),
                  (f"{mlp_path}/versions/abc/regrade", "post"))
    for path, method in staff_only:
        response = getattr(api.client, method)(path, headers=api.auth("ann"))
        assert response.status_code == 403 and "ann@course.edu (student)" in response.json()["error"], path
    assert api.client.get("/api/assignments/beras-mlp/grades.csv", headers=api.auth("tom")).status_code == 403
    assert api.client.get("/api/submissions/4242", headers=api.auth("ida")).status_code == 404
    assert api.client.get("/api/submissions/abc", headers=api.auth("ida")).status_code == 422
    assert api.client.post("/api/submissions/4242/regrade", headers=api.auth("tom")).status_code == 404
    assert api.client.post("/api/submissions/4242/replay", headers=api.auth("tom")).status_code == 404
    assert api.client.get("/api/gates/4242", headers=api.auth("tom")).status_code == 404
    assert api.client.post("/api/gates/4242/publish", headers=api.auth("tom")).status_code == 404
    unknown_batch = api.client.get("/api/regrades/4242", headers=api.auth("tom"))
    assert unknown_batch.status_code == 404 and unknown_batch.json()["error"] == "no regrade batch 4242"
    assert api.client.get("/api/no/such/route",
                          headers=api.auth("ann")).json()["error"].startswith("no such route")


def test_release_of_an_unknown_or_invalid_assignment_is_refused(api):
    response = api.client.post("/api/assignments/no-such/release", headers=api.auth("tom"))
    assert response.status_code == 404 and "assignment.toml" in response.json()["error"]
    assert api.client.post("/api/assignments/..%2Fetc/release", headers=api.auth("tom")).status_code in (400,
                                                                                                         404)
    # the gate's seed, as for a gate run: refused before any gate runs
    for seed in ("-1", str(2**31), "seven"):
        refused = api.client.post(f"/api/assignments/beras-mlp/release?seed={seed}", headers=api.auth("tom"))
        assert refused.status_code == 422 and "seed" in refused.text, (seed, refused.text)


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
    buggy = submission(mlp,
                       append={"beras/metrics.py": "CategoricalAccuracy.forward = lambda self, p, l: 0.0\n"})
    first = api.submit("ann", buggy).json()
    view = api.wait("ann", first["id"])
    assert view["status"] == "graded" and view["score"] <= view["max_score"]
    staff = api.client.get(f"/api/submissions/{first['id']}", headers=api.auth("tom")).json()
    assert 0 < staff["score"] < 100
    regraded = api.client.post(f"/api/submissions/{first['id']}/regrade", headers=api.auth("tom"))
    assert regraded.status_code == 200 and regraded.json()["queued"] == [first["id"]]
    again = api.wait("tom", first["id"])
    assert again["status"] == "graded" and again["result_id"] != staff["result_id"]
    progress = api.client.get(f"/api/regrades/{regraded.json()['batch']}", headers=api.auth("tom")).json()
    assert progress == {**progress, "kind": "regrade", "assignment": "beras-mlp", "total": 1, "done": 1,
                        "graded": 1, "queued": 0, "running": 0, "failed": 0, "percent": 100, "finished": True}
    history = api.client.get(f"/api/submissions/{first['id']}/history", headers=api.auth("tom")).json()
    assert [h["result_id"] for h in history] == [again["result_id"], staff["result_id"]]
    assert api.count(Result) == 2
    rows = api.client.get("/api/assignments/beras-mlp/grades?policy=latest",
                          headers=api.auth("ida")).json()["rows"]
    ann = next(r for r in rows if r["email"] == "ann@course.edu")
    assert ann["score"] == again["score"] and ann["submission_id"] == first["id"]


@pytest.mark.grading
def test_a_replay_repeats_a_run_with_its_seed_and_keeps_both_results(api, mlp):
    buggy = submission(mlp,
                       append={"beras/metrics.py": "CategoricalAccuracy.forward = lambda s, p, l: 0.0\n"})
    sid = api.submit("ann", buggy).json()["id"]
    api.wait("ann", sid)
    before = api.client.get(f"/api/submissions/{sid}", headers=api.auth("tom")).json()
    assert before["status"] == "graded" and "replay" not in before
    unknown = api.client.post(f"/api/submissions/{sid}/replay", headers=api.auth("tom"),
                              json={"result_id": 4242})
    assert unknown.status_code == 404

    replayed = api.client.post(f"/api/submissions/{sid}/replay", headers=api.auth("tom"))
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {"batch": replayed.json()["batch"], "seed": before["seed"], "queued": [sid]}
    busy = api.client.post(f"/api/submissions/{sid}/replay", headers=api.auth("tom"))
    assert busy.status_code == 409 and "graded or failed" in busy.json()["error"]
    after = api.wait("tom", sid)

    def outcomes(view: dict) -> list[tuple]:
        return [(t["name"], t["status"], t["score"]) for t in view["tests"]]

    assert after["status"] == "graded" and after["result_id"] != before["result_id"]
    assert after["seed"] == before["seed"] and after["replay"] is True
    assert after["score"] == before["score"] and 0 < after["score"] < 100
    assert outcomes(after) == outcomes(before) and len(outcomes(after)) > 10
    history = api.client.get(f"/api/submissions/{sid}/history", headers=api.auth("tom")).json()
    assert [h["result_id"] for h in history] == [after["result_id"], before["result_id"]]
    progress = api.client.get(f"/api/regrades/{replayed.json()['batch']}", headers=api.auth("ida")).json()
    summary = (progress["kind"], progress["total"], progress["graded"], progress["finished"])
    assert summary == ("replay", 1, 1, True)


def test_the_grades_csv_escapes_formulas_and_is_never_cached_or_sniffed(api):
    import csv
    import io

    from grader.db import User

    with api.runtime.sessions() as session:
        session.query(User).filter_by(email="ann@course.edu").one().name = '=HYPERLINK("http://evil.example","x")'
        session.query(User).filter_by(email="ben@course.edu").one().name = "@SUM(1+1)"
        session.commit()
    response = api.client.get("/api/assignments/beras-mlp/grades.csv", headers=api.auth("ida"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert (response.headers["x-content-type-options"] == "nosniff"
            and response.headers["cache-control"] == "no-store")
    names = {row["email"]: row["name"] for row in csv.DictReader(io.StringIO(response.text))}
    assert names == {"ann@course.edu": '\'=HYPERLINK("http://evil.example","x")',
                     "ben@course.edu": "'@SUM(1+1)"}


def test_ids_no_row_can_have_are_refused_by_name(api, mlp):
    huge = 10**20  # past SQLite's and PostgreSQL's integers
    staff = api.auth("tom")
    gate = api.client.get(f"/api/gates/{huge}", headers=staff)
    assert gate.status_code == 422 and "gate_id" in gate.json()["error"]
    batch = api.client.get(f"/api/regrades/{huge}", headers=staff)
    assert batch.status_code == 422 and "batch_id" in batch.json()["error"]
    with api.runtime.sessions() as session:
        from grader.db import Status, Submission

        first = api.submit("ann", submission(mlp)).json()["id"]
        session.get(Submission, first).status = Status.GRADED
        session.commit()
    replay = api.client.post(f"/api/submissions/{first}/replay", json={"result_id": huge}, headers=staff)
    assert replay.status_code == 422 and "result_id" in replay.json()["error"]


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/submissions/99999999999999999999", None),
    ("get", "/api/submissions/99999999999999999999/history", None),
    ("post", "/api/submissions/99999999999999999999/regrade", None),
    ("post", "/api/submissions/99999999999999999999/replay", None),
    ("post", "/api/submissions/1/replay", {"result_id": 99999999999999999999}),
    ("get", "/api/regrades/99999999999999999999", None),
    ("get", "/api/submissions/0", None),
])
def test_ids_no_row_can_have_are_refused_by_name_not_a_server_error(api, method, path, body):
    response = getattr(api.client, method)(path, headers=api.auth("tom"), **({"json": body} if body else {}))
    assert response.status_code == 422, response.text
    assert any(name in response.json()["error"] for name in ("submission_id", "batch_id", "result_id"))
