"""What students read of the schedule: nothing to download or submit before opens, dates in the author's
offset
with UTC beside them, the description as safe HTML, one sentence on the tests not shown."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grader.app import create_app
from grader.authoring.schedule import moment
from grader.db import utcnow
from grader.service.releases import publish
from grader.service.users import add_user, new_token
from grader.service.visibility import withheld_note
from tests.service.conftest import Parked, make_runtime
from tests.web.conftest import PEOPLE, Site, text_of

EST = timezone(timedelta(hours=-5))
DESCRIPTION = '''description = """
You write **Dropout**: scale the kept units by `1/(1-rate)`.

<script>alert("x")</script> [a link](javascript:alert(1))
"""
'''


def _at(days: float) -> datetime:
    """A whole minute ``days`` from now, in the author's offset (-05:00)."""
    return (utcnow() + timedelta(days=days)).astimezone(EST).replace(second=0, microsecond=0)


def _site(tmp_path: Path, mlp_release, opens: datetime, due: datetime):
    """beras-mlp published with ``opens`` and ``due`` written into its released assignment.toml, and a
    description; the app over it with ``PEOPLE`` signed in."""
    autograder, starter = mlp_release
    copy = tmp_path / "release" / autograder.name
    shutil.copytree(autograder, copy)
    toml = copy / "beras-mlp" / "assignment.toml"
    text = re.sub(r"(?m)^due = .*$", f"opens = {opens.isoformat()}\ndue = {due.isoformat()}",
                  toml.read_text())
    toml.write_text(text.replace('\ntitle = ', "\n" + DESCRIPTION + "title = ", 1))
    runtime = make_runtime(tmp_path / "data", sandbox="local", max_upload_mb=1)
    runtime.dispatcher = Parked(runtime)
    sessions, tokens = {}, {}
    with runtime.sessions() as session:
        publish(session, runtime.blobs, copy, starter)
        for who, role in PEOPLE:
            user, tokens[who] = add_user(session, f"{who}@course.edu", role, who.capitalize())
            sessions[who] = new_token(session, user, kind="session")
        session.commit()
    return runtime, sessions, tokens


@pytest.fixture
def upcoming(tmp_path, mlp_release):
    """beras-mlp opening in ten days, due in twenty."""
    opens, due = _at(10), _at(20)
    runtime, sessions, tokens = _site(tmp_path, mlp_release, opens, due)
    with TestClient(create_app(runtime, background=False)) as client:
        yield Site(client, runtime, sessions, tokens), opens, due


def bearer(site: Site, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens[who]}"}


def test_before_opens_a_student_is_offered_no_starter_and_no_upload(upcoming):
    site, opens, due = upcoming
    listing = text_of(site.get("ann", "/assignments").text)
    assert f"opens {moment(opens)}" in listing and f"due {moment(due)}" in listing
    html = site.get("ann", "/assignments/beras-mlp").text
    words = text_of(html)
    assert "upcoming" in words and f"Opens {moment(opens)}" in words
    assert "starter.zip" not in html and 'id="upload"' not in html

    refused = site.client.get("/api/assignments/beras-mlp/starter.zip", headers=bearer(site, "ann"))
    assert refused.status_code == 403
    assert f"beras-mlp opens {moment(opens)}" in refused.text
    upload = site.client.post("/api/assignments/beras-mlp/submissions", headers=bearer(site, "ann"),
                              files={"file": ("s.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")})
    assert upload.status_code == 403 and "opens" in upload.text
    page = site.post("ann", "/assignments/beras-mlp/submit",
                     files={"file": ("s.zip", b"x", "application/zip")})
    assert page.status_code == 403 and f"beras-mlp opens {moment(opens)}" in text_of(page.text)


def test_before_opens_the_staff_see_it_as_opens_and_may_download(upcoming):
    site, opens, _ = upcoming
    assert site.client.get("/api/assignments/beras-mlp/starter.zip",
                           headers=bearer(site, "tom")).status_code == 200
    assert f"opens {moment(opens)}" in text_of(site.get("tom", "/staff").text)
    assert f"opens {moment(opens)}" in text_of(site.get("tom", "/staff/assignments/beras-mlp").text)
    assert 'id="upload"' in site.get("tom", "/assignments/beras-mlp").text


def test_the_api_gives_dates_in_the_authors_offset(upcoming):
    site, opens, due = upcoming
    (described,) = site.client.get("/api/assignments", headers=bearer(site, "ann")).json()
    assert described["opens_at"] == opens.isoformat() and described["opens_at"].endswith("-05:00")
    assert described["due_at"] == due.isoformat()
    assert described["closes_at"] == (due + timedelta(days=3)).isoformat()


def test_the_description_is_rendered_as_safe_markdown(upcoming):
    site, _, _ = upcoming
    html = site.get("ann", "/assignments/beras-mlp").text
    section = html[html.index('id="description"'):]
    section = section[:section.index("</section>")]
    assert "<strong>Dropout</strong>" in section and "<code>1/(1-rate)</code>" in section
    assert "<script>" not in section and "&lt;script&gt;" in section  # the author's HTML is text
    assert "javascript:" not in section.replace("[a link](javascript:alert(1))", "")


def test_once_open_the_starter_and_uploads_are_offered(tmp_path, mlp_release):
    runtime, sessions, tokens = _site(tmp_path, mlp_release, _at(-1), _at(10))
    with TestClient(create_app(runtime, background=False)) as client:
        site = Site(client, runtime, sessions, tokens)
        html = site.get("ann", "/assignments/beras-mlp").text
        assert "starter.zip" in html and 'id="upload"' in html and "upcoming" not in text_of(html)
        assert client.get("/api/assignments/beras-mlp/starter.zip",
                          headers=bearer(site, "ann")).status_code == 200


def test_due_dates_show_in_the_authors_offset_with_utc_beside(site):
    """beras-mlp is due 2026-12-11T23:59:00-05:00 with 3 late days."""
    words = text_of(site.get("ann", "/assignments/beras-mlp").text)
    assert "Due 2026-12-11 23:59 (UTC-05:00) · 2026-12-12 04:59 UTC" in words
    assert "closes 2026-12-14 23:59 (UTC-05:00) · 2026-12-15 04:59 UTC" in words
    assert ("2026-12-11 23:59 (UTC-05:00) · 2026-12-12 04:59 UTC"
            in text_of(site.get("ann", "/assignments").text))


def test_the_sentence_on_tests_not_shown_follows_the_due_date():
    assert withheld_note(0, False) == ""
    assert (withheld_note(1, False)
            == "1 more test is graded but not shown yet; its points count after the due date.")
    assert withheld_note(3, True) == "3 more tests are graded and counted in this score but not shown."


def test_the_demo_submits_to_an_upcoming_assignment_as_it_opens(upcoming, mlp):
    """The demo course's way with beras-cnn (opens after beras-mlp closes): submit at ``first_open``."""
    from grader.db import Assignment, User
    from grader.service.errors import ServiceError
    from grader.service.submissions import accept, first_open
    from tests.grading.conftest import submission

    site, opens, _ = upcoming
    with site.runtime.sessions() as session:
        version = session.query(Assignment).one().current_version
        ann = session.query(User).filter_by(email="ann@course.edu").one()
        assert first_open(version) == opens
        with pytest.raises(ServiceError) as early:
            accept(session, site.runtime.blobs, ann, "beras-mlp", submission(mlp), "a.zip", 10**6)
        assert early.value.status == 403
        row = accept(session, site.runtime.blobs, ann, "beras-mlp", submission(mlp), "a.zip", 10**6,
                     now=first_open(version))
        assert row.created_at == opens and row.late_days == 0
