"""Student pages: the released assignments, one assignment (starter, upload, history), and one submission."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from grader.db import WAITING, Assignment, Role, User, utcnow
from grader.http.deps import SESSION_COOKIE, DbSession
from grader.http.params import RowId
from grader.http.uploads import in_upload_thread, take
from grader.service.assignments import released_assignments
from grader.service.errors import Forbidden, NotFound, ServiceError
from grader.service.submissions import (
    Admission,
    admit,
    current_version,
    extension_days,
    lateness,
    queue_position,
    release_config,
    release_schedule,
)
from grader.service.visibility import (
    assignment_submissions,
    latest_submission,
    own_submission_counts,
    submission_view,
    visible_submission,
)
from grader.web import csrf
from grader.web.deps import Viewer, page_user
from grader.web.render import page

router = APIRouter(include_in_schema=False)


def deadline(session: Session, user: User, assignment: Assignment) -> dict:
    """Where the caller stands against the schedule: opens, due, closes, and a one-word state with a sentence.

    The dates are in the offset the assignment's author wrote (the template shows UTC beside them).
    """
    version = assignment.current_version
    extension = extension_days(session, user, assignment)
    now = utcnow()
    schedule = release_schedule(version)
    opens = schedule.opens if schedule is not None else None
    late = lateness(version, extension, now)
    base = {"opens": opens, "due": None, "closes": None, "extension": extension}
    if opens is not None and now < opens:
        staff = user.role != Role.STUDENT
        text = f"Opens {_ago(opens - now)}" + (
            "; students cannot download or submit until then." if staff
            else ": the starter code and submissions are available from then.")
        base["state"], base["text"] = "upcoming", text
    if late.due is None:
        return {"state": "open", "text": "No due date.", **base}
    zone = schedule.due.tzinfo if schedule is not None else None
    base.update(due=late.due.astimezone(zone), closes=late.closes.astimezone(zone))
    if "state" in base:
        return base
    if now <= late.due:
        state, text = "open", f"Due {_ago(late.due - now)}."
    elif not late.closed:
        state = "late"
        penalty = min(100, round(100 * late.days * version.late_penalty_per_day))
        text = (f"Past due: a submission now is {late.days} day(s) late and loses {penalty}% of its score; "
                f"submissions close in {_ago(late.closes - now)}.")
    else:
        state, text = "closed", "Closed: submissions are no longer accepted."
    return {**base, "state": state, "text": text}


def _ago(span: timedelta) -> str:
    seconds = span.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"in {count} {unit}{'s' if count != 1 else ''}"
    return "in under a minute"


@router.get("/assignments")
def assignments(request: Request, user: Viewer, session: DbSession):
    rows = released_assignments(session)
    mine = own_submission_counts(session, user)
    listed = []
    for assignment in rows:
        latest = latest_submission(session, user, assignment.id)
        listed.append({"assignment": assignment, "deadline": deadline(session, user, assignment),
                       "submissions": mine.get(assignment.id, 0),
                       "latest": submission_view(latest, user) if latest else None})
    return page(request, "student/assignments.html", user=user, rows=listed)


def _assignment_page(request: Request, session: Session, user: User, name: str, status_code: int = 200,
                     error: str | None = None):
    assignment, version = current_version(session, name)
    history = assignment_submissions(session, assignment.id, user, limit=100)
    return page(request, "student/assignment.html", status_code=status_code, user=user, assignment=assignment,
                version=version, deadline=deadline(session, user, assignment), error=error,
                description=release_config(version).description,
                history=[submission_view(s, user) for s in history],
                max_mb=request.app.state.runtime.settings.max_upload_mb)


@router.get("/assignments/{name}")
def assignment(name: str, request: Request, user: Viewer, session: DbSession):
    return _assignment_page(request, session, user, name)


@router.post("/assignments/{name}/submit")
async def upload(name: str, request: Request):
    """The no-script upload: a plain multipart form, streamed like the API's; errors come back on the page.

    The form's CSRF token is checked once the body is in, before anything is stored.
    """
    runtime = request.app.state.runtime
    try:
        admission = await in_upload_thread(request, _admit, runtime, request, name)
        view = await take(request, admission, check_fields=_csrf_checker(request),
                          no_file=NOTHING_CHOSEN, empty=NOTHING_CHOSEN)
    except NotFound:
        raise
    except ServiceError as error:
        return await run_in_threadpool(_refused, runtime, request, name, error)
    return RedirectResponse(f"/submissions/{view['id']}", status_code=303)


NOTHING_CHOSEN = "choose your submission zip before pressing Submit (no file was sent)"


def _admit(runtime, request: Request, name: str) -> Admission:
    with runtime.sessions() as session:
        user = page_user(session, request)
        request.state.user = user
        return admit(session, user, name)


def _csrf_checker(request: Request):
    def check(fields: dict[str, str]) -> None:
        if not csrf.valid(request.cookies.get(SESSION_COOKIE, ""), fields.get(csrf.FIELD)):
            raise Forbidden("this form's security token is missing or stale; "
                            "reload the page and try again")
    return check


def _refused(runtime, request: Request, name: str, error: ServiceError):
    with runtime.sessions() as session:
        page_ = _assignment_page(request, session, page_user(session, request), name,
                                 status_code=error.status, error=error.message)
    if "retry_after_s" in error.detail:
        page_.headers["Retry-After"] = str(error.detail["retry_after_s"])
    return page_


@router.get("/submissions/{submission_id}")
def submission(submission_id: RowId, request: Request, user: Viewer, session: DbSession):
    row = visible_submission(session, submission_id, user)
    if user.role != Role.STUDENT:
        return RedirectResponse(f"/staff/submissions/{submission_id}", status_code=303)
    view = submission_view(row, user)
    return page(request, "student/submission.html", user=user, view=view, submission=row,
                waiting=row.status in WAITING, position=queue_position(session, row))
