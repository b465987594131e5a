"""Rendering pages: one Jinja2 environment, their shared filters, and ``page()`` to answer with HTML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from grader.authoring.schedule import moment
from grader.http.deps import SESSION_COOKIE
from grader.web.csrf import token_for
from grader.web.markdown import to_html

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def _when(value: datetime | str | None) -> str:
    """A moment as people read it: ``2026-12-11 23:59 UTC``."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _moment(value: datetime | None) -> str:
    """A date students plan by: in the offset its author wrote, with UTC beside it (``schedule.moment``)."""
    return "—" if value is None else moment(value)


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min"


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters.update(when=_when, moment=_moment, markdown=to_html, points=_points, percent=_percent,
                             seconds=_seconds)
templates.env.globals["STAFF"] = ("ta", "instructor")


def page(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    """Render ``template`` for the signed-in caller (``user`` in the context, or none) with the CSRF token."""
    session_token = request.cookies.get(SESSION_COOKIE, "")
    context.setdefault("user", None)
    response = templates.TemplateResponse(request, template, {
        "csrf_token": token_for(session_token) if session_token else "", **context}, status_code=status_code)
    # Pages carry personal results and a CSRF token: never cache them, never frame them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' "
        "'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
    return response
