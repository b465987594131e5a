"""The gradebook: each student's best or latest graded submission, with late penalties and extensions applied."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from grader.db import Assignment, Extension, Result, Role, Status, Submission, User
from grader.service.errors import ServiceError
from grader.service.submissions import lateness

POLICIES = ("best", "latest")


@dataclass
class Row:
    email: str
    name: str
    submission_id: int | None
    submitted_at: str
    raw_score: float | None
    late_days: int
    penalty: float
    score: float | None
    max_score: float
    submissions: int


def gradebook(session: Session, assignment: Assignment, policy: str = "best") -> list[Row]:
    """One row per student on the roster (students who never submitted get an empty score).

    ``best`` picks the submission with the highest score after its late penalty; ``latest`` the newest graded one.
    Late days are counted again from each submission's time and the student's current extension, so an
    extension granted after the fact is honoured.
    """
    if policy not in POLICIES:
        raise ServiceError(400, f"unknown policy {policy!r}; expected best or latest")
    version = assignment.current_version
    max_score = version.max_score if version else 0.0
    extensions = dict(session.execute(select(Extension.user_id, Extension.days)
                                      .where(Extension.assignment_id == assignment.id)).all())
    graded = session.scalars(
        select(Submission).join(Result, Submission.current_result_id == Result.id)
        .where(Submission.assignment_id == assignment.id, Submission.status == Status.GRADED)
        .options(joinedload(Submission.current_result), joinedload(Submission.version))
        .order_by(Submission.created_at)).all()
    counts: dict[int, int] = {}
    for submission in session.scalars(select(Submission).where(Submission.assignment_id == assignment.id)):
        counts[submission.user_id] = counts.get(submission.user_id, 0) + 1
    chosen: dict[int, tuple[float, Submission, int, float]] = {}
    for submission in graded:
        late = lateness(submission.version, extensions.get(submission.user_id, 0), submission.created_at).days
        penalty = min(1.0, late * submission.version.late_penalty_per_day)
        final = round(submission.current_result.score * (1 - penalty), 6)
        best = chosen.get(submission.user_id)
        if best is None or policy == "latest" or final > best[0]:
            chosen[submission.user_id] = (final, submission, late, penalty)
    rows = []
    for user in session.scalars(select(User).where(User.role == Role.STUDENT).order_by(User.email)):
        if user.id in chosen:
            final, submission, late, penalty = chosen[user.id]
            rows.append(Row(user.email, user.name, submission.id, submission.created_at.isoformat(),
                            submission.current_result.score, late, round(penalty, 4), final, max_score,
                            counts.get(user.id, 0)))
        else:
            rows.append(Row(user.email, user.name, None, "", None, 0, 0.0, None, max_score, counts.get(user.id, 0)))
    return rows


def as_dicts(rows: list[Row]) -> list[dict]:
    return [asdict(row) for row in rows]


def as_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "name", "score", "max_score", "raw_score", "late_days", "late_penalty", "submission_id",
                     "submitted_at", "submissions"])
    for r in rows:
        writer.writerow([r.email, r.name, "" if r.score is None else f"{r.score:g}", f"{r.max_score:g}",
                         "" if r.raw_score is None else f"{r.raw_score:g}", r.late_days, f"{r.penalty:g}",
                         r.submission_id or "", r.submitted_at, r.submissions])
    return out.getvalue()
