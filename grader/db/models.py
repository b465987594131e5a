"""The database's tables (SQLAlchemy 2): users, assignments and releases, gates, submissions, results."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values, read back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Role(StrEnum):
    STUDENT = "student"
    TA = "ta"
    INSTRUCTOR = "instructor"


class TokenKind(StrEnum):
    """What a token opens: ``api`` tokens (from the instructor) are Bearer tokens and sign in; ``session``
    tokens are the cookie a sign-in sets, and nothing else: a stolen cookie cannot be renewed or used as a
    Bearer token."""

    API = "api"
    SESSION = "session"


class Status(StrEnum):
    """A submission's state. Only ``queued -> running -> graded | failed_to_grade`` is taken by grading;
    ``deferred`` waits behind the same student's newer submission until its queue has drained, then is
    queued again at regrade priority; ``cancelled`` (and ``superseded``, which older releases used
    instead of deferring) end a submission that was never graded."""

    QUEUED = "queued"
    RUNNING = "running"
    GRADED = "graded"
    FAILED = "failed_to_grade"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"
    DEFERRED = "deferred"


TERMINAL = (Status.GRADED, Status.FAILED, Status.CANCELLED, Status.SUPERSEDED)
WAITING = (Status.QUEUED, Status.DEFERRED, Status.RUNNING)  # not graded yet, but will be
_GATE_RUNNING = text("status = 'running'")


class GateStatus(StrEnum):
    """A release gate run: ``running``, then ``passed`` (publishable), ``refused`` (a check failed or the toml
    is invalid) or ``error`` (the gate itself could not run, or the server stopped while it ran)."""

    RUNNING = "running"
    PASSED = "passed"
    REFUSED = "refused"
    ERROR = "error"


class BatchKind(StrEnum):
    """Why submissions went back to the queue together: a regrade (a fresh seed) or a replay (a result's)."""

    REGRADE = "regrade"
    REPLAY = "replay"


class SimilarityStatus(StrEnum):
    """A similarity check: ``queued``, ``running``, then ``done`` or ``failed`` (the message says why)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def _enum(kind: type[StrEnum], name: str) -> Enum:
    return Enum(kind, name=name, values_callable=lambda k: [m.value for m in k], native_enum=False, length=20)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Token(Base):
    """An API token or a browser session; only the token's SHA-256 is stored."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[TokenKind] = mapped_column(String(10), default=TokenKind.API)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    user: Mapped[User] = relationship()


class Assignment(Base):
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignment_versions.id", use_alter=True, name="fk_assignment_current_version"),
        nullable=True)
    current_version: Mapped[AssignmentVersion | None] = relationship(foreign_keys=[current_version_id],
                                                                     post_update=True)


class AssignmentVersion(Base):
    """One release of an assignment: the autograder folder the gate passed, and the schedule it carries."""

    __tablename__ = "assignment_versions"
    __table_args__ = (UniqueConstraint("assignment_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    autograder_path: Mapped[str] = mapped_column(Text)
    starter_sha256: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(20), default="cpu")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    late_penalty_per_day: Mapped[float] = mapped_column(Float, default=0.0)
    last_late_day: Mapped[int] = mapped_column(Integer, default=0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    gate_report: Mapped[dict] = mapped_column(JSON, default=dict)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    assignment: Mapped[Assignment] = relationship(foreign_keys=[assignment_id])


class GateRun(Base):
    """One run of the release gate on ``assignments/<name>``; a passed run can be published once."""

    __tablename__ = "gate_runs"
    # At most one running gate per assignment, enforced by the database (a partial unique index), so two
    # requests that start one at the same moment cannot both win.
    __table_args__ = (Index("uq_gate_runs_one_running", "assignment_name", unique=True,
                            sqlite_where=_GATE_RUNNING, postgresql_where=_GATE_RUNNING),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_name: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[GateStatus] = mapped_column(_enum(GateStatus, "gate_status"), default=GateStatus.RUNNING)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    report: Mapped[dict] = mapped_column(JSON, default=dict)  # GateReport.to_dict(); {} until it ran
    report_text: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    autograder_path: Mapped[str] = mapped_column(Text, default="")  # kept only when the gate passed
    starter_path: Mapped[str] = mapped_column(Text, default="")
    version_id: Mapped[int | None] = mapped_column(ForeignKey("assignment_versions.id"), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[AssignmentVersion | None] = relationship(foreign_keys=[version_id])
    user: Mapped[User | None] = relationship(foreign_keys=[started_by])


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("assignment_versions.id"))
    blob_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    late_days: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[Status] = mapped_column(_enum(Status, "status"), default=Status.QUEUED, index=True)
    queue: Mapped[str] = mapped_column(String(20), default="cpu")
    regrade: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by a replay: the next grading uses this seed instead of a random one (a regrade clears it).
    replay_seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Grading bookkeeping: who holds the job (lease), how often it was tried, when it may be retried.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # host:pid of the last worker that claimed it
    worker: Mapped[str] = mapped_column(String(200), default="")
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    # failed_to_grade on a worker that could not run it (a gpu job, no GPU there) and sent back to its queue:
    # the next worker that can grades it and its result replaces the failure.
    awaiting_worker: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    current_result_id: Mapped[int | None] = mapped_column(
        ForeignKey("results.id", use_alter=True, name="fk_submission_current_result"), nullable=True)
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assignment: Mapped[Assignment] = relationship(foreign_keys=[assignment_id])
    version: Mapped[AssignmentVersion] = relationship(foreign_keys=[version_id])
    current_result: Mapped[Result | None] = relationship(foreign_keys=[current_result_id], post_update=True)


class RefusedUpload(Base):
    """An upload refused as too large or by intake: it counts toward the rate limit like a submission."""

    __tablename__ = "refused_uploads"
    __table_args__ = (Index("ix_refused_uploads_user_assignment_at", "user_id", "assignment_id",
                            "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[int] = mapped_column(Integer)  # the HTTP status the upload got: 413 or 422
    reason: Mapped[str] = mapped_column(Text, default="")


class Result(Base):
    """One grading of a submission; a regrade adds a row and makes it current, the old one stays history."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("assignment_versions.id"))
    status: Mapped[str] = mapped_column(String(20))  # the engine's: graded, rejected, error
    score: Mapped[float] = mapped_column(Float, default=0.0)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    data: Mapped[dict] = mapped_column(JSON)  # the engine's checked results file
    worker: Mapped[str] = mapped_column(String(200), default="")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegradeBatch(Base):
    """Submissions sent back to the queue together (a regrade or a replay), to follow their progress."""

    __tablename__ = "regrade_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    kind: Mapped[BatchKind] = mapped_column(_enum(BatchKind, "batch_kind"), default=BatchKind.REGRADE)
    submission_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    assignment: Mapped[Assignment] = relationship(foreign_keys=[assignment_id])


class Extension(Base):
    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("user_id", "assignment_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    days: Mapped[int] = mapped_column(Integer)
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SimilarityRun(Base):
    """One similarity check of an assignment's current submissions (and its archive), run on the regrade
    queue; its flagged pairs are ``SimilarityPair`` rows, so the report opens without comparing again."""

    __tablename__ = "similarity_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("assignment_versions.id"))  # whose starter is excluded
    status: Mapped[SimilarityStatus] = mapped_column(_enum(SimilarityStatus, "similarity_status"),
                                                     default=SimilarityStatus.QUEUED, index=True)
    threshold: Mapped[float] = mapped_column(Float, default=0.5)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # Progress: the stage (reading, fingerprinting, comparing) and how far into it.
    stage: Mapped[str] = mapped_column(String(40), default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    submissions: Mapped[int] = mapped_column(Integer, default=0)  # current submissions compared
    archived: Mapped[int] = mapped_column(Integer, default=0)  # archived submissions compared with them
    pairs_compared: Mapped[int] = mapped_column(Integer, default=0)
    # The archived submissions' owned files that flagged pairs show (the archive folder may change later).
    archive_files: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    # Grading-style bookkeeping: the holder's lease, tries, when it was last sent to the queue.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker: Mapped[str] = mapped_column(String(200), default="")
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    assignment: Mapped[Assignment] = relationship(foreign_keys=[assignment_id])
    version: Mapped[AssignmentVersion] = relationship(foreign_keys=[version_id])


class SimilarityPair(Base):
    """Two submissions a run flagged: both directions' scores and, per owned file, the matched line ranges.

    ``a`` is a current submission; ``b`` is another (``b_submission_id``) or an archived one (``b_name``,
    its text in the run's ``archive_files``).
    """

    __tablename__ = "similarity_pairs"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("similarity_runs.id", ondelete="CASCADE"), index=True)
    a_submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    b_submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"),
                                                        nullable=True)
    b_name: Mapped[str] = mapped_column(String(300), default="")  # the archived zip, folder/name.zip
    score: Mapped[float] = mapped_column(Float, index=True)
    score_ab: Mapped[float] = mapped_column(Float)
    score_ba: Mapped[float] = mapped_column(Float)
    # [{"path", "matched_a", "matched_b", "lines_a": [[first, last], ...], "lines_b": [...]}]
    files: Mapped[list] = mapped_column(JSON, default=list)
    a_submission: Mapped[Submission] = relationship(foreign_keys=[a_submission_id])
    b_submission: Mapped[Submission | None] = relationship(foreign_keys=[b_submission_id])
