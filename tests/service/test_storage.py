"""Storage and the job's life in the database: migrations, users and rosters, lateness, claims, leases, the
reconciler."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select

from grader.blobs import BlobStore
from grader.db import Result, Role, Status, Submission, TokenKind, User, engine_for, migrate
from grader.result import GradeResult, ResultStatus
from grader.service.errors import ServiceError
from grader.service.releases import publish
from grader.service.submissions import accept, lateness
from grader.service.users import add_user, import_roster, user_for_token
from grader.service.visibility import shown_to_student
from tests.service.conftest import submission
from worker.grading.samples import build_zip
from worker.grading.submission import _store, claim, grade_submission
from worker.queue.dispatch import SendingDispatcher
from worker.queue.reconciler import reconcile

UTC = timezone.utc


class Recorder(SendingDispatcher):
    """The transport replaced by a list: these tests are about what the database decides, not delivery."""

    def __init__(self, runtime):
        super().__init__(runtime)
        self.sent: list[tuple[int, str, float]] = []

    def _send(self, submission_id, queue, countdown_s):
        self.sent.append((submission_id, queue, countdown_s))

    def _send_similarity(self, run_id):
        self.sent.append((run_id, "similarity", 0.0))


@pytest.fixture
def service(runtime, mlp_release, mlp):
    runtime.dispatcher = Recorder(runtime)
    with runtime.sessions() as session:
        publish(session, runtime.blobs, *mlp_release)
        student, token = add_user(session, "s@course.edu", "student")
    runtime.student_id, runtime.zip = student.id, submission(mlp)
    return runtime


def _accept(runtime, data=None, when=None, email="s@course.edu") -> int:
    with runtime.sessions() as session:
        user = session.scalar(select(User).where(User.email == email))
        return accept(session, runtime.blobs, user, "beras-mlp", data or runtime.zip, "s.zip", 20 * 2**20,
                      now=when).id


def test_migrations_create_every_table_and_run_twice(tmp_path):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    migrate(url)
    migrate(url)
    tables = set(inspect(engine_for(url)).get_table_names())
    assert {"users", "tokens", "assignments", "assignment_versions", "submissions", "results", "extensions",
            "alembic_version"} <= tables


def test_blob_store_is_content_addressed(tmp_path):
    blobs = BlobStore(tmp_path)
    sha = blobs.put(b"zip bytes")
    assert blobs.put(b"zip bytes") == sha and blobs.get(sha) == b"zip bytes"
    assert blobs.path(sha).parent.name == sha[:2]
    with pytest.raises(ValueError, match="SHA-256"):
        blobs.path("../../etc/passwd")


def test_users_and_tokens(runtime):
    with runtime.sessions() as session:
        user, token = add_user(session, " Ada@Course.EDU ", "ta", "Ada")
        assert user.email == "ada@course.edu" and user.role == Role.TA
        assert user_for_token(session, token, TokenKind.API).id == user.id
        assert user_for_token(session, token + "x", TokenKind.API) is None
        with pytest.raises(ServiceError, match="already exists"):
            add_user(session, "ada@course.edu", "student")
        with pytest.raises(ServiceError, match="unknown role 'admin'"):
            add_user(session, "b@course.edu", "admin")
        with pytest.raises(ServiceError, match="not an email address"):
            add_user(session, "nobody", "student")


def test_roster_import_checks_every_row_before_writing(runtime):
    with runtime.sessions() as session:
        with pytest.raises(ServiceError) as refused:
            import_roster(session, "email,role,name\na@c.edu,student,A\nbroken,student,B\nc@c.edu,wizard,C\n")
        assert "line 3" in refused.value.message and "line 4" in refused.value.message
        assert session.scalar(select(func.count()).select_from(User)) == 0
        with pytest.raises(ServiceError, match="columns email and role"):
            import_roster(session, "mail,kind\nx@y.z,student\n")
        first = import_roster(session, "\ufeffEmail,Role,Name\na@c.edu,student,A\nb@c.edu,ta,B\n")
        assert [row[:2] for row in first.added] == [("a@c.edu", "student"), ("b@c.edu", "ta")]
        again = import_roster(session, "email,role\na@c.edu,instructor\nb@c.edu,ta\n")
        assert again.updated == ["a@c.edu"] and again.unchanged == ["b@c.edu"] and not again.added
        assert session.scalar(select(User.role).where(User.email == "a@c.edu")) == Role.INSTRUCTOR


def test_lateness_counts_started_days_after_the_extension():
    class Version:
        due_at = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
        last_late_day = 2

    due = Version.due_at
    assert lateness(Version, 0, due).days == 0
    assert lateness(Version, 0, due + timedelta(minutes=1)).days == 1
    assert lateness(Version, 0, due + timedelta(days=1, minutes=1)).days == 2
    assert lateness(Version, 0, due + timedelta(days=2, minutes=1)).closed
    assert lateness(Version, 3, due + timedelta(days=2, minutes=1)).days == 0


def test_visibility_rules():
    due = datetime(2026, 12, 1, tzinfo=UTC)
    before, after = due - timedelta(hours=1), due + timedelta(hours=1)
    assert shown_to_student("visible", due, before) == (True, True)
    assert shown_to_student("after_due_date", due, before) == (False, False)
    assert shown_to_student("after_due_date", due, after) == (True, True)
    assert shown_to_student("visible_until_due_date", due, after) == (False, True)
    assert shown_to_student("hidden", due, after) == (False, True)
    assert shown_to_student("after_due_date", None, after) == (False, False)


def test_a_late_submission_is_counted_and_a_closed_assignment_refused(service):
    due = datetime(2026, 12, 12, 4, 59, tzinfo=UTC)  # beras-mlp's due date, in UTC
    late_id = _accept(service, when=due + timedelta(hours=30))
    with service.sessions() as session:
        assert session.get(Submission, late_id).late_days == 2
    with pytest.raises(ServiceError) as closed:
        _accept(service, when=due + timedelta(days=3, minutes=1))
    assert closed.value.status == 403 and "closed" in closed.value.message


def test_a_newer_submission_defers_the_queued_one_which_is_graded_once_the_queue_drains(service):
    """Nothing a student hands in is lost: under "best" the older zip may be the one that counts."""
    first, second = _accept(service), _accept(service)
    with service.sessions() as session:
        assert session.get(Submission, first).status == Status.DEFERRED
        assert session.get(Submission, second).status == Status.QUEUED
    assert grade_submission(first, service).action == "skipped"  # its first message, in the normal lane
    service.dispatcher.sent.clear()
    assert first not in reconcile(service), "deferred while a new submission still waits in its queue"
    with service.sessions() as session:
        assert session.get(Submission, first).status == Status.DEFERRED
    assert grade_submission(second, service).action == "graded"
    assert reconcile(service) == [first]
    assert service.dispatcher.sent == [(first, "regrade", 0.0)]  # at regrade priority
    assert reconcile(service) == []  # sent once
    assert grade_submission(first, service).action == "graded"
    with service.sessions() as session:
        graded = [session.get(Submission, i) for i in (first, second)]
        assert [s.status for s in graded] == [Status.GRADED, Status.GRADED]
        assert all(s.current_result_id is not None for s in graded)


def test_refused_zips_store_nothing(service):
    for data in (b"not a zip", build_zip({"notes.txt": "hi"})):
        with pytest.raises(ServiceError) as refused:
            _accept(service, data=data)
        assert refused.value.status == 422
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
    assert len([p for p in service.blobs.root.rglob("*") if p.is_file()]) == 1  # the starter zip only


def test_only_one_claim_wins_and_a_stale_holder_cannot_store(service):
    submission_id = _accept(service)
    assert claim(service, submission_id, "a" * 32) is not None
    assert claim(service, submission_id, "b" * 32) is None
    with service.sessions() as session:  # the holder's lease lapses: another worker may take over
        session.get(Submission, submission_id).lease_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.commit()
    assert claim(service, submission_id, "c" * 32) is not None
    result = GradeResult(status=ResultStatus.GRADED, score=1.0, max_score=1.0)
    now = datetime.now(UTC)
    stamps = {"received_at": now, "queued_at": now, "started_at": now, "finished_at": now}
    assert _store(service, submission_id, "a" * 32, 1, result, Status.GRADED, 1, stamps) is False
    assert _store(service, submission_id, "c" * 32, 1, result, Status.GRADED, 2, stamps) is True
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Result)) == 1
        assert session.get(Submission, submission_id).status == Status.GRADED
    assert claim(service, submission_id, "d" * 32) is None  # a redelivery after the result: nothing to do


def test_reconciler_hands_on_lapsed_jobs_and_resends_lost_ones_once(service):
    with service.sessions() as session:
        add_user(session, "t@course.edu", "student")
    lapsed, unsent = _accept(service), _accept(service, email="t@course.edu")
    claim(service, lapsed, "a" * 32)
    with service.sessions() as session:
        session.get(Submission, lapsed).lease_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.get(Submission, unsent).queued_at = datetime.now(UTC) - timedelta(minutes=1)
        session.commit()
    assert sorted(reconcile(service)) == sorted([lapsed, unsent])
    assert reconcile(service) == []  # a second pass (another process) sends nothing twice
    with service.sessions() as session:
        assert session.get(Submission, lapsed).status == Status.QUEUED
    assert sorted(i for i, _, _ in service.dispatcher.sent) == sorted([lapsed, unsent])


def test_a_job_whose_worker_keeps_dying_is_recorded_as_failed(service):
    submission_id = _accept(service)
    with service.sessions() as session:
        row = session.get(Submission, submission_id)
        row.status, row.attempts = Status.RUNNING, service.settings.grade_attempts
        row.lease_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.commit()
    reconcile(service)
    with service.sessions() as session:
        row = session.get(Submission, submission_id)
        assert (row.status == Status.FAILED and "stopped" in row.failure_reason
                and row.current_result_id is None)


def test_infrastructure_errors_are_retried_then_failed_never_zero(service):
    service.settings.sandbox = "no-such-backend"
    service.settings.retry_backoff_s = 0
    submission_id = _accept(service)
    outcomes = [grade_submission(submission_id, service).action
                for _ in range(service.settings.grade_attempts)]
    assert outcomes == ["retry"] * (service.settings.grade_attempts - 1) + ["failed"]
    with service.sessions() as session:
        row = session.get(Submission, submission_id)
        assert row.status == Status.FAILED and "no-such-backend" in row.failure_reason
        assert row.current_result_id is None  # no score is given for our failure

