"""Regrade batches and replays in the service: progress counts, fresh and replayed seeds, the worker."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update

from grader.db import AssignmentVersion, BatchKind, Result, Status, Submission, engine_for, utcnow
from grader.result import GradeResult, ResultStatus
from grader.service.errors import ServiceError
from grader.service.regrade import batch_progress, regrade, replay, start_regrade
from grader.service.releases import publish
from grader.service.submissions import accept
from grader.service.users import add_user
from tests.service.conftest import submission
from worker.grading import submission as grading


@pytest.fixture
def course(runtime, mlp_release, mlp):
    """beras-mlp published and one queued submission from each of three students (``runtime.ids``)."""
    with runtime.sessions() as session:
        publish(session, runtime.blobs, *mlp_release)
        runtime.ids = []
        for n in range(3):
            student, _ = add_user(session, f"s{n}@course.edu", "student")
            runtime.ids.append(accept(session, runtime.blobs, student, "beras-mlp", submission(mlp), "s.zip",
                                      20 * 2**20).id)
    return runtime


def _set(runtime, submission_id: int, **values) -> None:
    with runtime.sessions() as session:
        session.execute(update(Submission).where(Submission.id == submission_id).values(**values))
        session.commit()


def _graded(runtime, submission_id: int, data: dict) -> int:
    """Give the submission a stored result with ``data`` and make it current; return the result's id."""
    with runtime.sessions() as session:
        row = session.get(Submission, submission_id)
        result = Result(submission_id=submission_id, version_id=row.version_id, status="graded", score=1.0,
                        max_score=2.0, data=data, received_at=utcnow())
        session.add(result)
        session.flush()
        row.status, row.current_result_id = Status.GRADED, result.id
        session.commit()
        return result.id


def test_batch_progress_counts_each_state_with_one_query(course):
    a, b, c = course.ids
    for submission_id in course.ids:
        _set(course, submission_id, status=Status.GRADED)
    with course.sessions() as session:
        assignment = session.get(Submission, a).assignment
        batch, queued = start_regrade(session, assignment, None, None)
        assert queued == [a, b, c] and batch.submission_ids == [a, b, c] and batch.kind == BatchKind.REGRADE
        assert batch_progress(session, batch.id) == {
            "id": batch.id, "kind": "regrade", "assignment": "beras-mlp",
            "created_at": batch.created_at.isoformat(), "total": 3, "done": 0, "queued": 3, "running": 0,
            "graded": 0, "failed": 0, "percent": 0, "finished": False}
    _set(course, a, status=Status.RUNNING)
    _set(course, b, status=Status.GRADED)
    _set(course, c, status=Status.FAILED)
    statements = []

    def seen(_connection, _cursor, statement, *_rest):
        statements.append(statement)

    engine = engine_for(course.settings.database)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        with course.sessions() as session:
            progress = batch_progress(session, batch.id)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    counting = [s for s in statements if "count(" in s.lower()]
    assert len(counting) == 1 and "GROUP BY" in counting[0]
    keys = ("done", "queued", "running", "graded", "failed", "percent", "finished")
    assert {k: progress[k] for k in keys} == {
        "done": 2, "queued": 0, "running": 1, "graded": 1, "failed": 1, "percent": 66, "finished": False}
    _set(course, a, status=Status.GRADED)
    with course.sessions() as session:
        progress = batch_progress(session, batch.id)
        assert (progress["done"], progress["percent"], progress["finished"]) == (3, 100, True)
        with pytest.raises(ServiceError, match="no regrade batch 4242") as unknown:
            batch_progress(session, 4242)
        assert unknown.value.status == 404


def test_an_empty_regrade_is_still_a_batch_and_finished(course):
    with course.sessions() as session:  # every submission is still queued: nothing to regrade
        assignment = session.get(Submission, course.ids[0]).assignment
        batch, queued = start_regrade(session, assignment, None, None)
        assert queued == [] and batch.id is not None
        progress = batch_progress(session, batch.id)
        summary = (progress["total"], progress["done"], progress["percent"], progress["finished"])
        assert summary == (0, 0, 100, True)


def test_a_regrade_draws_a_fresh_seed_where_a_replay_left_one(course):
    first, second, _ = course.ids
    _set(course, first, status=Status.GRADED, replay_seed=1234)
    _set(course, second, status=Status.FAILED, replay_seed=99, attempts=3, failure_reason="sandbox lost")
    with course.sessions() as session:
        assignment = session.get(Submission, first).assignment
        assert regrade(session, assignment, [first]) == [first]
        assert start_regrade(session, assignment, [second], None)[1] == [second]
    with course.sessions() as session:
        for submission_id in (first, second):
            row = session.get(Submission, submission_id)
            assert (row.status, row.replay_seed, row.regrade, row.attempts) == (Status.QUEUED, None, True, 0)
        assert session.get(Submission, second).failure_reason == ""


def test_replay_queues_with_the_results_seed_against_its_release_and_refuses_what_it_cannot_replay(course,
                                                                                                   tmp_path):
    sid, other, never = course.ids
    with course.sessions() as session:
        with pytest.raises(ServiceError, match="only a graded or failed") as queued:
            replay(session, session.get(Submission, sid))
        assert queued.value.status == 409
    old = _graded(course, sid, {"status": "graded", "seed": 4321, "tests": []})
    new = _graded(course, sid, {"status": "graded", "seed": 555, "tests": []})
    foreign = _graded(course, other, {"status": "graded", "seed": 1, "tests": []})
    seedless = _graded(course, other, {"status": "graded", "tests": []})
    _set(course, never, status=Status.FAILED)
    with course.sessions() as session:
        with pytest.raises(ServiceError) as wrong:
            replay(session, session.get(Submission, sid), foreign)
        assert wrong.value.status == 404 and f"submission {sid}" in wrong.value.message
        with pytest.raises(ServiceError, match="recorded no seed") as no_seed:
            replay(session, session.get(Submission, other), seedless)
        assert no_seed.value.status == 409
        with pytest.raises(ServiceError, match="no current result") as nothing:
            replay(session, session.get(Submission, never))
        assert nothing.value.status == 409

        # The default is the current result; an older one by id.
        assert replay(session, session.get(Submission, other), foreign).kind == BatchKind.REPLAY
        older_version = AssignmentVersion(assignment_id=session.get(Submission, sid).assignment_id,
                                          version="old", autograder_path=str(tmp_path / "gone"),
                                          starter_sha256="0" * 64)
        session.add(older_version)
        session.flush()
        session.get(Result, old).version_id = older_version.id
        session.commit()
        row = session.get(Submission, sid)
        with pytest.raises(ServiceError, match="is gone") as gone:
            replay(session, row, old)
        assert gone.value.status == 409 and row.status == Status.GRADED
        (tmp_path / "gone").mkdir()
        batch = replay(session, row, old)
        assert (batch.kind, batch.submission_ids) == (BatchKind.REPLAY, [sid])
        assert batch.assignment_id == row.assignment_id
        assert (row.status, row.replay_seed, row.regrade, row.version_id) == (Status.QUEUED, 4321, True,
                                                                              older_version.id)
        with pytest.raises(ServiceError, match="only a graded or failed") as twice:
            replay(session, row, new)
        assert twice.value.status == 409


def test_the_worker_grades_with_a_replay_seed_and_says_so(course, monkeypatch):
    replayed, fresh, _ = course.ids
    _set(course, replayed, replay_seed=4321)
    seeds = []

    def engine(released, data, sandbox, *, seed=None, keep=None):
        seeds.append(seed)
        return GradeResult(status=ResultStatus.GRADED, score=1.0, max_score=2.0,
                           seed=seed if seed is not None else 7)

    monkeypatch.setattr(grading, "grade_zip", engine)
    monkeypatch.setattr(course, "sandbox", lambda: None)
    assert grading.grade_submission(replayed, course).action == "graded"
    assert grading.grade_submission(fresh, course).action == "graded"
    assert seeds == [4321, None]
    with course.sessions() as session:
        replay_data = session.get(Submission, replayed).current_result.data
        fresh_data = session.get(Submission, fresh).current_result.data
    assert (replay_data["seed"], replay_data["replay"]) == (4321, True) and "replay" not in fresh_data
