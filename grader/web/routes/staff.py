"""TA pages: assignments and their settings, release gates and publishing, regrades, any submission."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse
from sqlalchemy.orm import Session

from grader.db import WAITING, Assignment, User, utcnow
from grader.http.deps import DbSession
from grader.http.params import RowId
from grader.service import assignment_folders
from grader.service import assignment_settings as settings_service
from grader.service.assignments import (
    all_assignments,
    find_assignment,
    get_assignment,
    status_counts,
    submission_counts,
)
from grader.service.errors import Invalid, NotFound, ServiceError, UnknownUser, Unprocessable, not_found
from grader.service.extensions import MAX_DAYS, assignment_extensions, grant_extension
from grader.service.gates import (
    MAX_SEED,
    NOTHING_PUBLISHED,
    changes_view,
    get_gate,
    launch_gate,
    publish_gate,
    recent_gates,
    start_gate,
)
from grader.service.numbers import MAX_ID, whole_number
from grader.service.regrade import (
    batch_progress,
    regrade_offers,
    regrade_version,
    replay,
    send_regrades,
    start_regrade,
)
from grader.service.releases import published_names
from grader.service.submissions import shown_schedule
from grader.service.visibility import (
    assignment_submissions,
    get_result,
    get_submission,
    result_history,
    submission_view,
)
from grader.web.deps import CheckedForm, StaffViewer
from grader.web.render import page

router = APIRouter(prefix="/staff", include_in_schema=False)

# What a redirect may ask the next page to say, by key (``?notice=created``): a link someone else made can
# pick one of these, never put its own words in the status box.
NOTICES = {
    "created": "Assignment created: edit its settings and tests, then run the gate.",
    "published": "Published: students now get this version.",
    "archived": ("Assignment archived: its folder is now under assignments/.archive/ "
                 "(move it back to restore it)."),
    "deleted": "Draft assignment deleted.",
    "regrading": "Regrade queued: this page shows the new result when it is graded.",
    "replaying": ("Replay queued with the chosen result's seed: "
                  "this page shows the new result when it is graded."),
}


def _notice(request: Request) -> str | None:
    """The notice the query string names; None for none, or for a key that is not one of ``NOTICES``."""
    return NOTICES.get(request.query_params.get("notice", ""))


def _enqueue(request: Request, session: Session, ids: list[int]) -> None:
    send_regrades(request.app.state.runtime.dispatcher, session, ids)


def _schedule(assignment: Assignment | None):
    """The published release's [schedule]; None without one, or when its folder can no longer be read."""
    if assignment is None or assignment.current_version is None:
        return None
    return shown_schedule(assignment.current_version)


def _upcoming(assignment: Assignment | None):
    """The released assignment's opening date while students cannot see it yet, else None."""
    schedule = _schedule(assignment)
    opens = schedule.opens if schedule is not None else None
    return opens if opens is not None and utcnow() < opens else None


@router.get("")
def overview(request: Request, user: StaffViewer, session: DbSession):
    settings = request.app.state.runtime.settings
    folders = {f["name"]: f for f in settings_service.list_assignment_folders(settings)}
    released = {a.name: a for a in all_assignments(session)}
    counts = submission_counts(session)
    waiting = submission_counts(session, WAITING)
    rows = []
    for name in sorted(set(folders) | set(released)):
        assignment = released.get(name)
        rows.append({"name": name, "folder": folders.get(name), "assignment": assignment,
                     "submissions": counts.get(assignment.id, 0) if assignment else 0,
                     "waiting": waiting.get(assignment.id, 0) if assignment else 0,
                     "opens": _upcoming(assignment)})
    return page(request, "staff/overview.html", user=user, rows=rows, notice=_notice(request))


@router.get("/assignments/new")
def new_assignment(request: Request, user: StaffViewer):
    folders = settings_service.list_assignment_folders(request.app.state.runtime.settings)
    return page(request, "staff/new_assignment.html", user=user, folders=folders, values={})


@router.post("/assignments/new")
def create_assignment(request: Request, user: StaffViewer, data: CheckedForm):
    settings = request.app.state.runtime.settings
    values = {k: str(data.get(k, "")).strip() for k in ("name", "title", "copy_from")}
    try:
        settings_service.create_assignment(settings, values["name"], values["title"],
                                           values["copy_from"] or None)
    except ServiceError as error:
        return page(request, "staff/new_assignment.html", status_code=error.status, user=user,
                    error=error.message, folders=settings_service.list_assignment_folders(settings),
                    values=values)
    return RedirectResponse(f"/staff/assignments/{values['name']}?notice=created", status_code=303)


@router.post("/assignments/{name}/archive")
def archive_assignment(name: str, request: Request, user: StaffViewer, _: CheckedForm,
                       session: DbSession):
    """Move the folder to assignments/.archive/; a published assignment keeps its releases and grades."""
    settings = request.app.state.runtime.settings
    try:
        assignment_folders.archive_assignment(settings, name)
    except Invalid:
        raise
    except ServiceError as error:
        return _assignment_page(request, session, user, name, status_code=error.status, error=error.message)
    return RedirectResponse("/staff?notice=archived", status_code=303)


@router.post("/assignments/{name}/delete")
def delete_assignment(name: str, request: Request, user: StaffViewer, _: CheckedForm,
                      session: DbSession):
    """Delete a draft's folder; the database says what is published, and a published one is refused."""
    settings = request.app.state.runtime.settings
    try:
        assignment_folders.delete_assignment(settings, name, published_names(session))
    except Invalid:
        raise
    except ServiceError as error:
        return _assignment_page(request, session, user, name, status_code=error.status, error=error.message)
    return RedirectResponse("/staff?notice=deleted", status_code=303)


def _assignment_page(request: Request, session: Session, user: User, name: str, status_code: int = 200,
                     error: str | None = None, notice: str | None = None, problems: list[str] | None = None,
                     values: dict | None = None):
    settings = request.app.state.runtime.settings
    assignment = find_assignment(session, name)
    try:
        current = settings_service.read_settings(settings, name)
    except ServiceError as missing:
        if assignment is None:
            raise
        current, error = {}, error or missing.message  # released, but its folder is gone from this server
    gates = recent_gates(session, name, limit=10)
    submissions, extensions, statuses = [], [], {}
    if assignment is not None:
        submissions = assignment_submissions(session, assignment.id, user, everyone=True, limit=200)
        extensions = assignment_extensions(session, assignment.id)
        statuses = status_counts(session, assignment.id)
    return page(request, "staff/assignment.html", status_code=status_code, user=user, name=name,
                assignment=assignment, fields=settings_service.EDITABLE, values=values or current,
                problems=problems or [], gates=gates, submissions=submissions, extensions=extensions,
                status_counts=statuses, error=error,
                opens=_upcoming(assignment),
                schedule=_schedule(assignment),
                notice=notice or _notice(request))


@router.get("/assignments/{name}")
def assignment(name: str, request: Request, user: StaffViewer, session: DbSession):
    return _assignment_page(request, session, user, name)


@router.post("/assignments/{name}/settings")
def save_settings(name: str, request: Request, user: StaffViewer, data: CheckedForm,
                  session: DbSession):
    values = {field.key: str(data.get(field.key, ""))
              for field in settings_service.EDITABLE if field.key in data}
    try:
        saved = settings_service.save_settings(request.app.state.runtime.settings, name, values)
    except NotFound:
        raise
    except ServiceError as error:
        return _assignment_page(request, session, user, name, status_code=error.status, error=error.message,
                                problems=error.detail.get("problems", []), values=values)
    changed = ", ".join(f"{key}: {old or '—'} → {new or '—'}" for key, old, new in saved.changed)
    notice = (f"Saved ({changed}). Run the release gate to publish the change to students." if changed
              else "Nothing changed.")
    # A draft's own unfinished parts (say, no owned files yet) stay listed until the TA fixes the file itself.
    return _assignment_page(request, session, user, name, notice=notice, problems=saved.problems)


@router.post("/assignments/{name}/gate")
def run_gate(name: str, request: Request, user: StaffViewer, data: CheckedForm,
             session: DbSession):
    seed_text = str(data.get("seed", "")).strip()
    try:
        seed = whole_number(seed_text, "the seed", 0, MAX_SEED - 1) if seed_text else None
    except ServiceError as error:
        raise Unprocessable(f"{error.message}; leave it empty for a random one") from None
    runtime = request.app.state.runtime
    gate = start_gate(session, runtime.settings, name, user, seed=seed)
    launch_gate(runtime, gate.id)
    return RedirectResponse(f"/staff/gates/{gate.id}", status_code=303)


def _gate_page(request: Request, session: Session, user: User, gate_id: int, status_code: int = 200,
               error: str | None = None):
    row = get_gate(session, gate_id)
    assignment = find_assignment(session, row.assignment_name)
    current = assignment.current_version if assignment else None
    # The regrade offer belongs to the version students get now: once this gate's release is it.
    offers = (regrade_offers(session, assignment) if current is not None and row.version_id == current.id
              else [])
    return page(request, "staff/gate.html", status_code=status_code, user=user, gate=row, error=error,
                notice=_notice(request), changes=changes_view(session, request.app.state.runtime.blobs, row),
                against=current.version if current is not None else NOTHING_PUBLISHED, offers=offers)


@router.get("/gates/{gate_id}")
def gate(gate_id: RowId, request: Request, user: StaffViewer, session: DbSession):
    return _gate_page(request, session, user, gate_id)


@router.post("/gates/{gate_id}/publish")
def publish(gate_id: RowId, request: Request, user: StaffViewer, data: CheckedForm,
            session: DbSession):
    against = str(data.get("against", "")).strip() or None
    try:
        publish_gate(session, request.app.state.runtime, gate_id, user, against=against)
    except NotFound:
        raise
    except ServiceError as error:
        session.rollback()
        return _gate_page(request, session, user, gate_id, status_code=error.status, error=error.message)
    return RedirectResponse(f"/staff/gates/{gate_id}?notice=published", status_code=303)


@router.post("/assignments/{name}/versions/{version}/regrade")
def regrade_old_version(name: str, version: str, request: Request, user: StaffViewer, _: CheckedForm,
                        session: DbSession):
    assignment = get_assignment(session, name, "released assignment")
    batch, ids = regrade_version(session, assignment, version, user)
    _enqueue(request, session, ids)
    return RedirectResponse(f"/staff/regrades/{batch.id}?notice=version-regrade", status_code=303)


@router.post("/assignments/{name}/regrade")
def regrade_all(name: str, request: Request, user: StaffViewer, _: CheckedForm,
                session: DbSession):
    assignment = get_assignment(session, name, "released assignment")
    batch, ids = start_regrade(session, assignment, None, user)
    _enqueue(request, session, ids)
    return RedirectResponse(f"/staff/regrades/{batch.id}", status_code=303)


@router.get("/regrades/{batch_id}")
def regrade_progress(batch_id: RowId, request: Request, user: StaffViewer, session: DbSession):
    batch = batch_progress(session, batch_id)
    # The count comes from the batch itself, never from the link.
    notice = (f"Queued {batch['total']} submission(s) for a regrade against the current version."
              if request.query_params.get("notice") == "version-regrade" else None)
    return page(request, "staff/regrade.html", user=user, batch=batch, notice=notice)


@router.post("/assignments/{name}/extensions")
def extension(name: str, request: Request, user: StaffViewer, data: CheckedForm,
              session: DbSession):
    try:
        days = whole_number(str(data.get("days", "")), "extension days", 0, MAX_DAYS)
        granted = grant_extension(session, name, str(data.get("email", "")), days, user)
    except UnknownUser as error:  # a problem with the form's email: shown on the assignment's page
        return _assignment_page(request, session, user, name, status_code=error.status, error=error.message)
    except NotFound:
        raise  # no such assignment: the 404 page
    except ServiceError as error:
        return _assignment_page(request, session, user, name, status_code=error.status, error=error.message)
    return _assignment_page(request, session, user, name,
                            notice=f"{granted['email']} now has {granted['days']} extra day(s) on {name}.")


@router.get("/submissions/{submission_id}")
def submission(submission_id: RowId, request: Request, user: StaffViewer, session: DbSession):
    row = get_submission(session, submission_id)
    history = result_history(session, submission_id)
    return page(request, "staff/submission.html", user=user, submission=row, view=submission_view(row, user),
                history=history, waiting=row.status in WAITING, notice=_notice(request))


@router.post("/submissions/{submission_id}/regrade")
def regrade_one(submission_id: RowId, request: Request, user: StaffViewer, _: CheckedForm,
                session: DbSession):
    row = get_submission(session, submission_id)
    batch, ids = start_regrade(session, row.assignment, [submission_id], user)
    _enqueue(request, session, ids)
    return RedirectResponse(f"/staff/submissions/{submission_id}?notice=regrading", status_code=303)


@router.post("/submissions/{submission_id}/replay")
def replay_run(submission_id: RowId, request: Request, user: StaffViewer, data: CheckedForm,
               session: DbSession):
    row = get_submission(session, submission_id)
    result_text = str(data.get("result_id", "")).strip()
    result_id = whole_number(result_text, "result_id", 1, MAX_ID) if result_text else None
    batch = replay(session, row, result_id, user)
    _enqueue(request, session, batch.submission_ids)
    return RedirectResponse(f"/staff/submissions/{submission_id}?notice=replaying", status_code=303)


@router.get("/submissions/{submission_id}/logs/{result_id}/{log_name}")
def log(submission_id: RowId, result_id: RowId, log_name: str, request: Request, user: StaffViewer,
        session: DbSession) -> PlainTextResponse:
    result = get_result(session, submission_id, result_id)
    sha = (result.data.get("logs") or {}).get(log_name)
    if not sha:
        raise not_found("log", log_name)
    text = request.app.state.runtime.blobs.get(sha).decode("utf-8", "replace")
    return PlainTextResponse(
        text, headers={"Content-Disposition": f'inline; filename="{submission_id}-{log_name}"'})
