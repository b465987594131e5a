"""Similarity checks in the service: the job (each student's latest submission, the starter and staff left
out, the archive), its state and retries, and the staff-only API with its CSV."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from grader.db import SimilarityPair, SimilarityRun, SimilarityStatus, User, utcnow
from grader.service.assignments import get_assignment
from grader.service.errors import Conflict, Unprocessable
from grader.service.similarity import flagged_pairs, pair_view, run_view, start_similarity
from grader.service.submissions import accept
from grader.service.users import add_user
from tests.service.conftest import copy_release, open_api
from tests.similarity import corpus
from worker.queue.dispatch import EmbeddedDispatcher
from worker.queue.reconciler import reconcile
from worker.similarity import run_similarity

MB = 20 * 2**20


@pytest.fixture(scope="module")
def work():
    """The corpus's submissions: two independent ones, a disguised copy of one, an untouched starter."""
    src = corpus.sources()
    return {"A": src["A"], "C": src["C"], "copy": corpus.reorder(corpus.recomment(src["A"])),
            "starter": dict(corpus.starter())}


def _submit(runtime, email: str, files: dict[str, str], role: str = "student") -> int:
    with runtime.sessions() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = add_user(session, email, role)[0]
        return accept(session, runtime.blobs, user, "beras-mlp", corpus.zip_bytes(files), "s.zip", MB).id


@pytest.fixture
def course(runtime, mlp_release, tmp_path, work):
    """beras-mlp published, with ann (a disguised copy of cy's C first, then A), ben (a disguised copy of A),
    cy (C), dee and eve (the starter untouched), and tom, a TA who submitted A himself."""
    from grader.service.releases import publish

    with runtime.sessions() as session:
        publish(session, runtime.blobs, *copy_release(mlp_release, tmp_path))
    ids = {"ann-old": _submit(runtime, "ann@uni.edu", corpus.rename(work["C"], corpus.C_NAMES)),
           "ann": _submit(runtime, "ann@uni.edu", work["A"]),
           "ben": _submit(runtime, "ben@uni.edu", work["copy"]),
           "cy": _submit(runtime, "cy@uni.edu", work["C"])}
    ids["dee"] = _submit(runtime, "dee@uni.edu", work["starter"])
    ids["eve"] = _submit(runtime, "eve@uni.edu", work["starter"])
    ids["tom"] = _submit(runtime, "tom@uni.edu", work["A"], role="ta")
    runtime.ids = ids
    return runtime


def _run(runtime, threshold=None) -> SimilarityRun:
    with runtime.sessions() as session:
        run = start_similarity(session, get_assignment(session, "beras-mlp"), None, threshold)
        run_id = run.id
    assert run_similarity(run_id, runtime) == "done"
    with runtime.sessions() as session:
        return session.get(SimilarityRun, run_id)


def test_the_copy_is_flagged_against_each_students_latest_submission_only(course):
    run = _run(course)
    ids = course.ids
    with course.sessions() as session:
        run = session.get(SimilarityRun, run.id)
        pairs = flagged_pairs(session, run)
        view = run_view(session, run)
    # ann's latest (A) and ben's copy of it: one pair. Not ann's older copy of cy's C (only each student's
    # latest counts), not the two untouched starters, not tom (staff), who submitted A too.
    assert [(p["a"]["submission_id"], p["b"]["submission_id"]) for p in pairs] == [(ids["ann"], ids["ben"])]
    assert pairs[0]["score"] == max(pairs[0]["score_ab"], pairs[0]["score_ba"]) >= 0.5
    assert pairs[0]["a"]["student"] == "ann@uni.edu" and pairs[0]["b"]["student"] == "ben@uni.edu"
    assert set(pairs[0]["files"]) <= set(corpus.FILES) and pairs[0]["files"]
    assert view["status"] == "done" and view["finished"] and view["percent"] == 100
    assert view["submissions"] == 5 and view["archived"] == 0 and view["pairs_compared"] == 10
    assert view["flagged"] == 1 and view["error"] == ""


def test_the_side_by_side_marks_the_copied_lines_not_the_starters(course, work):
    run = _run(course)
    with course.sessions() as session:
        run = session.get(SimilarityRun, run.id)
        pair = session.scalar(select(SimilarityPair).where(SimilarityPair.run_id == run.id))
        view = pair_view(session, course.blobs, run, pair)
    assert view["pair"]["id"] == pair.id
    for shown in view["files"]:
        left = "\n".join(line["text"] for line in shown["a"])
        assert left == work["A"][shown["path"]].rstrip("\n")  # the stored zip's text, line for line
        hits = [line["text"] for line in shown["a"] if line["hit"]]
        assert hits and any(line["hit"] for line in shown["b"])
        starter_lines = set(work["starter"][shown["path"]].splitlines())
        # Matched lines are the student's own code: the docstrings and imports of the starter are not marked.
        own = [text for text in hits if text.strip() and text not in starter_lines]
        assert len(own) >= 0.8 * len([text for text in hits if text.strip()])


def test_archived_submissions_are_compared_and_kept_with_the_run(course, work):
    folder = course.settings.similarity_archive_dir / "beras-mlp" / "2025"
    folder.mkdir(parents=True)
    (folder / "old.zip").write_bytes(corpus.zip_bytes(corpus.rename(work["C"], corpus.C_NAMES)))
    run = _run(course)
    (folder / "old.zip").unlink()  # the report keeps what it showed
    with course.sessions() as session:
        run = session.get(SimilarityRun, run.id)
        pairs = flagged_pairs(session, run)
        archived = [p for p in pairs if p["b_archived"]]
        assert [(p["a"]["submission_id"], p["b"]["label"]) for p in archived] == [(course.ids["cy"],
                                                                                   "2025/old.zip")]
        view = pair_view(session, course.blobs, run, session.get(SimilarityPair, archived[0]["id"]))
    assert run.archived == 1 and run.pairs_compared == 10 + 5
    assert any(line["hit"] for shown in view["files"] for line in shown["b"])


def test_an_archived_zip_intake_refuses_fails_the_run_with_its_name(course):
    folder = course.settings.similarity_archive_dir / "beras-mlp" / "2024"
    folder.mkdir(parents=True)
    (folder / "broken.zip").write_bytes(b"not a zip at all")
    with course.sessions() as session:
        run_id = start_similarity(session, get_assignment(session, "beras-mlp"), None).id
    assert run_similarity(run_id, course) == "failed"
    with course.sessions() as session:
        view = run_view(session, session.get(SimilarityRun, run_id))
    assert view["status"] == "failed" and view["finished"]
    assert "broken.zip" in view["error"] and "Traceback" not in view["error"]


def test_one_check_at_a_time_and_bad_thresholds_are_refused(course):
    with course.sessions() as session:
        assignment = get_assignment(session, "beras-mlp")
        run = start_similarity(session, assignment, None, 0.7)
        with pytest.raises(Conflict, match=f"already queued .#{run.id}"):
            start_similarity(session, assignment, None)
        for bad in (-0.1, 1.5, "half", True):
            with pytest.raises(Unprocessable, match="threshold must be a number from 0 to 1"):
                start_similarity(session, assignment, None, bad)
    assert run_similarity(run.id, course) == "done"
    assert run_similarity(run.id, course) == "skipped"  # a second delivery does nothing


def test_a_check_whose_worker_died_is_sent_again_then_given_up(course):
    sent = []
    course.dispatcher = type("Sent", (), {"enqueue_similarity": lambda self, i: sent.append(i) or True,
                                          "enqueue": lambda self, *a, **k: True})()
    with course.sessions() as session:
        run_id = start_similarity(session, get_assignment(session, "beras-mlp"), None).id
    reconcile(course)
    assert sent == []  # just recorded: its starter is sending it
    with course.sessions() as session:
        session.execute(update(SimilarityRun).values(created_at=utcnow() - timedelta(minutes=1)))
        session.commit()
    reconcile(course)
    assert sent == [run_id]  # recorded but never sent: sent now
    for attempt in range(1, course.settings.grade_attempts + 1):
        with course.sessions() as session:  # a worker took it and died
            session.execute(update(SimilarityRun).values(
                status=SimilarityStatus.RUNNING, attempts=attempt, lease_token="gone",
                lease_expires_at=utcnow() - timedelta(seconds=1)))
            session.commit()
        reconcile(course)
    with course.sessions() as session:
        run = session.get(SimilarityRun, run_id)
        assert run.status == SimilarityStatus.FAILED and "stopped 3 times" in run.error
    assert sent == [run_id] * course.settings.grade_attempts


def test_a_worker_that_lost_its_lease_stores_nothing(course, monkeypatch):
    with course.sessions() as session:
        run_id = start_similarity(session, get_assignment(session, "beras-mlp"), None).id
    import grader.similarity as engine  # the job imports it when it runs

    original = engine.compare_submissions

    def taken_over(*args, **kwargs):
        with course.sessions() as session:  # another worker claimed it meanwhile
            session.execute(update(SimilarityRun).values(lease_token="someone else"))
            session.commit()
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "compare_submissions", taken_over)
    assert run_similarity(run_id, course) == "lost"
    with course.sessions() as session:
        assert session.scalars(select(SimilarityPair)).all() == []


def test_the_api_is_for_staff_only_and_its_csv_matches_the_pairs(course, request):
    # open_api's people (ann and ben, students; tom, a TA; ida, the instructor) are @course.edu.
    with open_api(course, request) as api:
        for who in ("ann", "ben"):
            headers = api.auth(who)
            started = api.client.post("/api/assignments/beras-mlp/similarity", headers=headers)
            assert started.status_code == 403
            for path in ("/api/assignments/beras-mlp/similarity", "/api/assignments/beras-mlp/similarity.csv",
                         "/api/similarity/1", "/api/similarity/1/pairs", "/api/similarity/1/pairs/1"):
                answer = api.client.get(path, headers=headers)
                assert answer.status_code == 403, (path, answer.text)
        assert api.client.get("/api/similarity/1").status_code == 401
        none_yet = api.client.get("/api/assignments/beras-mlp/similarity", headers=api.auth("tom"))
        assert none_yet.status_code == 404 and "POST /api/assignments/beras-mlp/similarity" in none_yet.text
        bad = api.client.post("/api/assignments/beras-mlp/similarity", headers=api.auth("tom"),
                              json={"threshold": 2})
        assert bad.status_code == 422
        started = api.client.post("/api/assignments/beras-mlp/similarity", headers=api.auth("tom"),
                                  json={"threshold": 0.5})
        assert started.status_code == 202, started.text
        run = started.json()
        assert run["status"] == "queued" and started.headers["location"] == run["url"]
        again = api.client.post("/api/assignments/beras-mlp/similarity", headers=api.auth("ida"))
        assert again.status_code == 409 and f"/api/similarity/{run['id']}" in again.json()["error"]
        early = api.client.get("/api/assignments/beras-mlp/similarity.csv", headers=api.auth("tom"))
        assert early.status_code == 409 and "has finished yet" in early.json()["error"]
        assert run_similarity(run["id"], course) == "done"  # the parked queue holds it: run it here
        report = api.client.get("/api/assignments/beras-mlp/similarity", headers=api.auth("ida")).json()
        assert report["run"]["status"] == "done" and len(report["pairs"]) == 1
        pair = report["pairs"][0]
        assert api.client.get(f"/api/similarity/{run['id']}/pairs", headers=api.auth("tom")).json() == [pair]
        high = api.client.get("/api/assignments/beras-mlp/similarity?min=0.99", headers=api.auth("tom"))
        assert [p["score"] >= 0.99 for p in high.json()["pairs"]] == [True] * len(high.json()["pairs"])
        assert api.client.get("/api/assignments/beras-mlp/similarity?min=3",
                              headers=api.auth("tom")).status_code == 422
        side = api.client.get(f"/api/similarity/{run['id']}/pairs/{pair['id']}", headers=api.auth("tom"))
        assert side.status_code == 200 and side.json()["pair"] == pair
        assert any(line["hit"] for f in side.json()["files"] for line in f["a"])
        missing = api.client.get(f"/api/similarity/{run['id']}/pairs/{pair['id'] + 99}",
                                 headers=api.auth("tom"))
        assert missing.status_code == 404
        exported = api.client.get("/api/assignments/beras-mlp/similarity.csv", headers=api.auth("tom"))
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        assert f"beras-mlp-similarity-{run['id']}.csv" in exported.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(int(r["pair"]), r["a_student"], r["b_student"], float(r["score"])) for r in rows] == [
            (pair["id"], "ann@uni.edu", "ben@uni.edu", pytest.approx(pair["score"], abs=1e-4))]


def test_the_embedded_pool_runs_a_check_from_the_regrade_queue(course, request):
    with open_api(course, request) as api:
        course.dispatcher = EmbeddedDispatcher(course, workers=1)
        try:
            started = api.client.post("/api/assignments/beras-mlp/similarity", headers=api.auth("tom"))
            assert started.status_code == 202
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                view = api.client.get(started.json()["url"], headers=api.auth("tom")).json()
                if view["finished"]:
                    break
                time.sleep(0.2)
            assert view["status"] == "done" and view["flagged"] == 1, view
        finally:
            course.dispatcher.close()
