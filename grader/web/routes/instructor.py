"""Instructor pages: the course gradebook, assignment reports (charts, hardest tests), roster, LMS exports."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from grader.db import User, utcnow
from grader.http.deps import DbSession
from grader.reports import (
    assignment_report,
    canvas_csv,
    course_gradebook,
    gradescope_csv,
    pass_rate_svg,
    score_histogram_svg,
)
from grader.service.assignments import get_released
from grader.service.errors import ServiceError
from grader.service.gradebook import check_policy
from grader.service.users import import_roster, role_counts
from grader.service.users import roster as people_on_roster
from grader.web.deps import CheckedForm, InstructorViewer
from grader.web.render import page

router = APIRouter(prefix="/instructor", include_in_schema=False)


def _policy(policy: str) -> str:
    check_policy(policy)
    return policy


def _csv(text: str, filename: str) -> Response:
    # A BOM so Excel opens names with accents correctly; Canvas and Gradescope accept it.
    return Response("\ufeff" + text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/gradebook")
def gradebook(request: Request, user: InstructorViewer, session: DbSession, policy: str = "best", q: str = "",
              sort: str = "email", order: str = "asc"):
    book = course_gradebook(session, _policy(policy))
    rows = book.rows
    needle = q.strip().lower()
    if needle:
        rows = [r for r in rows if needle in r.email.lower() or needle in (r.name or "").lower()]
    rows = sorted(rows, key=_sort_key(sort, book), reverse=order == "desc")
    return page(request, "instructor/gradebook.html", user=user, book=book, rows=rows, policy=policy, q=q,
                sort=sort, order=order)


def _sort_key(sort: str, book):
    names = [a.name for a in book.assignments]
    if sort in names:
        index = names.index(sort)
        return lambda row: (row.cells[index].score is None, row.cells[index].score or 0.0)
    if sort == "total":
        return lambda row: row.total
    if sort == "name":
        return lambda row: ((row.name or "").lower(), row.email)
    return lambda row: row.email


@router.get("/assignments/{name}/report")
def report(name: str, request: Request, user: InstructorViewer, session: DbSession, policy: str = "best",
           print_view: bool = Query(False, alias="print")):
    assignment = get_released(session, name)
    data = assignment_report(session, assignment, _policy(policy))
    template = "instructor/report_print.html" if print_view else "instructor/report.html"
    return page(request, template, user=user, assignment=assignment, report=data, policy=policy,
                histogram=score_histogram_svg(data), pass_rates=pass_rate_svg(data),
                test_rates=pass_rate_svg(data, by="test") if data.groups else None, now=utcnow())


@router.get("/exports/canvas.csv")
def canvas(user: InstructorViewer, session: DbSession, policy: str = "best") -> Response:
    return _csv(canvas_csv(course_gradebook(session, _policy(policy))), f"canvas-grades-{policy}.csv")


@router.get("/assignments/{name}/gradescope.csv")
def gradescope(name: str, user: InstructorViewer, session: DbSession, policy: str = "best") -> Response:
    assignment = get_released(session, name)
    return _csv(gradescope_csv(session, assignment, _policy(policy)), f"{name}-gradescope-{policy}.csv")


def _roster_page(request: Request, session: Session, user: User, status_code: int = 200, **context):
    return page(request, "instructor/roster.html", status_code=status_code, user=user,
                people=people_on_roster(session), counts=role_counts(session), **context)


@router.get("/roster")
def roster(request: Request, user: InstructorViewer, session: DbSession):
    return _roster_page(request, session, user)


@router.post("/roster")
async def import_csv(request: Request, user: InstructorViewer, data: CheckedForm,
                     session: DbSession):
    upload = data.get("file")
    text = str(data.get("csv", ""))
    if upload is not None and not isinstance(upload, str) and upload.filename:
        raw = await upload.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
    # The import and the page query the database: in a worker thread, never on the event loop.
    return await run_in_threadpool(_import, request, session, user, text, upload)


def _import(request: Request, session: Session, user: User, text: str | None, upload):
    if text is None:
        return _roster_page(request, session, user, 400,
                            error=f"{upload.filename} is not UTF-8 text; "
                                  "export the roster as CSV (UTF-8) and try again")
    if not text.strip():
        return _roster_page(request, session, user, 400, error="choose a roster CSV file or paste its rows "
                                                                "(columns email, role and optionally name)")
    try:
        outcome = import_roster(session, text)
    except ServiceError as error:
        return _roster_page(request, session, user, error.status, error=error.message, pasted=text)
    notice = (f"Imported: {len(outcome.added)} added, {len(outcome.updated)} updated, "
              f"{len(outcome.unchanged)} unchanged.")
    return _roster_page(request, session, user, notice=notice, added=outcome.added)
