"""The JSON API's response models: what each route answers, so /docs describes it.

The service layer builds plain dicts (the pages use the same ones); these models only describe and check
them. Numbers are ``int | float`` wherever a count or a score may be either, so that a value is never
rewritten (3 stays 3, 2.5 stays 2.5), and routes whose keys depend on the caller answer with
``response_model_exclude_unset`` so that a key the service left out stays out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

Number = int | float


class Out(BaseModel):
    """A response body; keys the model does not name (a result's own fields, for staff) pass through."""

    model_config = ConfigDict(extra="allow")


class AssignmentOut(Out):
    name: str
    title: str
    version: str
    released_at: str
    queue: str
    max_score: Number
    opens_at: str | None
    due_at: str | None
    extension_days: int
    closes_at: str | None
    late_penalty_per_day: Number
    last_late_day: int


class ReleaseOut(Out):
    assignment: str
    version: str
    published: bool
    gate: dict[str, Any]
    report: str


class ExtensionOut(Out):
    assignment: str
    email: str
    days: int


class TestOut(Out):
    name: str | None = None
    number: str | int | None = None
    score: Number | None = None
    max_score: Number | None = None
    status: str | None = None
    outcome: str | None = None
    output: str | None = None
    tags: list[Any] | None = None


class SubmissionOut(Out):
    """A submission as the caller may see it: students get their visible tests, staff the whole result."""

    id: int
    # A name; for staff, the result's own ``{"name", "version"}`` (staff see the whole result, merged in).
    assignment: str | dict[str, Any]
    version: str
    status: str
    submitted_at: str
    late_days: int
    filename: str
    score: Number | None
    max_score: Number | None
    tests: list[TestOut]
    output: str
    graded_at: str | None = None
    timeline: dict[str, str | None] | None = None
    queue_position: int | None = None
    tests_withheld: int | None = None
    withheld_note: str | None = None
    student: str | None = None
    attempts: int | None = None
    queue: str | None = None
    failure_reason: str | None = None
    blob_sha256: str | None = None
    engine_status: str | None = None
    result_id: int | None = None
    worker: str | None = None


class HistoryOut(Out):
    result_id: int
    status: str
    score: Number | None
    max_score: Number | None
    stored_at: str
    worker: str | None
    attempt: int | None


class QueuedOut(Out):
    queued: list[int]
    batch: int


class VersionRegradeOut(QueuedOut):
    count: int
    url: str


class ReplayOut(Out):
    batch: int
    seed: int | None
    queued: list[int]


class BatchOut(Out):
    id: int
    kind: str
    assignment: str
    created_at: str
    total: int
    done: int
    queued: int
    running: int
    graded: int
    failed: int
    percent: int
    finished: bool


class GateStarted(Out):
    gate_id: int
    status: str
    url: str
    seed: int | None


class GateOut(Out):
    id: int
    assignment: str
    status: str
    seed: int | None
    started_at: str
    finished_at: str | None
    started_by: str | None
    report: dict[str, Any] | None
    report_text: str | None
    error: str | None
    published: bool
    version: str | None
    published_at: str | None
    url: str


class GateChangesOut(GateOut):
    changes: dict[str, Any] | None


class RegradeOffer(Out):
    version_id: int
    version: str
    released_at: str
    submissions: int
    waiting: int


class PublishedOut(Out):
    assignment: str
    version: str
    published: bool
    gate_id: int
    regrade: list[RegradeOffer]


class GradeRow(Out):
    email: str
    name: str
    submission_id: int | None
    submitted_at: str
    raw_score: Number | None
    late_days: int
    penalty: Number
    score: Number | None
    max_score: Number
    submissions: int


class GradesOut(Out):
    assignment: str
    policy: str
    rows: list[GradeRow]


class SignedIn(Out):
    email: str
    role: str


class SignedOut(Out):
    signed_out: bool


class Me(Out):
    id: int
    email: str
    name: str | None
    role: str


class Health(Out):
    status: str
    database: str
    queue: str
    version: str | None = None


class SimilarityRunOut(Out):
    id: int
    assignment: str
    status: str
    stage: str
    done: int
    total: int
    percent: int
    finished: bool
    threshold: float
    created_at: str
    started_at: str | None
    finished_at: str | None
    submissions: int
    archived: int
    pairs_compared: int
    flagged: int
    error: str
    url: str


class SimilaritySide(Out):
    submission_id: int | None
    student: str | None
    name: str
    label: str


class SimilarityPairOut(Out):
    id: int
    score: float
    score_ab: float
    score_ba: float
    a: SimilaritySide
    b: SimilaritySide
    b_archived: bool
    files: list[str]


class SimilarityLine(Out):
    n: int
    text: str
    hit: bool


class SimilarityFileOut(Out):
    path: str
    matched_a: int
    matched_b: int
    a: list[SimilarityLine]
    b: list[SimilarityLine]


class SimilarityPairView(Out):
    pair: SimilarityPairOut
    files: list[SimilarityFileOut]


class SimilarityReport(Out):
    run: SimilarityRunOut
    pairs: list[SimilarityPairOut]
