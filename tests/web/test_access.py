"""Who may reach which page: signing in, role checks, other students' submissions, and the CSRF guard."""

from __future__ import annotations

import pytest

from grader.db import Submission
from grader.web.csrf import token_for
from tests.grading.conftest import submission
from tests.web.conftest import text_of

STAFF_PAGES = ["/staff", "/staff/assignments/beras-mlp", "/staff/assignments/new", "/staff/regrades/1",
               "/staff/gates/1"]
INSTRUCTOR_PAGES = ["/instructor/gradebook", "/instructor/assignments/beras-mlp/report",
                    "/instructor/assignments/beras-mlp/report?print=1", "/instructor/roster"]
INSTRUCTOR_FILES = ["/instructor/exports/canvas.csv", "/instructor/assignments/beras-mlp/gradescope.csv"]


def _submit(site, who: str, mlp) -> int:
    response = site.client.post("/api/assignments/beras-mlp/submissions",
                                headers={"Authorization": f"Bearer {site.tokens[who]}"},
                                files={"file": ("s.zip", submission(mlp), "application/zip")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.mark.parametrize("path",
                         ["/", "/assignments", "/assignments/beras-mlp", *STAFF_PAGES, *INSTRUCTOR_PAGES])
def test_pages_send_a_stranger_to_sign_in_and_back(site, path):
    response = site.get(None, path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/")


@pytest.mark.parametrize("path", STAFF_PAGES + INSTRUCTOR_PAGES + INSTRUCTOR_FILES)
def test_a_student_reaches_no_staff_or_instructor_page(site, path):
    response = site.get("ann", path)
    assert response.status_code == 403
    if not path.endswith(".csv"):
        assert "signed in as ann@course.edu (student)" in text_of(response.text)


@pytest.mark.parametrize("path", INSTRUCTOR_PAGES + INSTRUCTOR_FILES)
def test_a_ta_reaches_no_instructor_page(site, path):
    assert site.get("tom", path).status_code == 403


@pytest.mark.parametrize("path", ["/staff/assignments/beras-mlp/regrade", "/staff/assignments/beras-mlp/gate",
                                  "/staff/assignments/beras-mlp/settings", "/staff/assignments/new",
                                  "/staff/assignments/beras-mlp/extensions", "/instructor/roster"])
def test_a_student_cannot_post_staff_forms(site, path):
    before = site.count(Submission)
    assert site.post("ann", path,
                     {"email": "ann@course.edu", "days": "9", "csv": "email,role\nann@course.edu,ta\n"
                                   }).status_code == 403
    assert site.count(Submission) == before
    assert site.get("ann", "/assignments").status_code == 200  # still a student: the roster post did nothing


def test_another_students_submission_is_not_found(site, mlp):
    mine = _submit(site, "ann", mlp)
    assert site.get("ann", f"/submissions/{mine}").status_code == 200
    theirs = site.get("ben", f"/submissions/{mine}")
    assert theirs.status_code == 404 and "ann" not in theirs.text
    assert site.get("ben", f"/staff/submissions/{mine}").status_code == 403
    assert site.client.get(f"/api/submissions/{mine}", headers=site.cookie("ben")).status_code == 404
    # Staff opening the student page are sent to the full view.
    assert site.get("tom", f"/submissions/{mine}").headers["location"] == f"/staff/submissions/{mine}"


def test_signing_in_with_a_token_sets_a_session_and_signing_out_ends_it(site):
    refused = site.client.post("/login", data={"token": "bg_nope"}, follow_redirects=False)
    assert refused.status_code == 401 and "unknown or expired" in text_of(refused.text)
    signed = site.client.post("/login", data={"token": site.tokens["ann"], "next": "/assignments/beras-mlp"},
                              follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/assignments/beras-mlp"
    cookie = signed.cookies["beras_session"]
    page = site.client.get("/assignments", headers={"Cookie": f"beras_session={cookie}"})
    assert page.status_code == 200 and "ann@course.edu" in page.text
    out = site.client.post("/logout", data={"csrf_token": token_for(cookie)},
                           headers={"Cookie": f"beras_session={cookie}"}, follow_redirects=False)
    assert out.status_code == 303
    after = site.client.get("/assignments", headers={"Cookie": f"beras_session={cookie}"},
                            follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(site, target):
    signed = site.client.post("/login", data={"token": site.tokens["ann"], "next": target},
                              follow_redirects=False)
    assert signed.headers["location"] == "/"


def test_forms_without_the_sessions_csrf_token_are_refused(site):
    response = site.post("tom", "/staff/assignments/beras-mlp/regrade", csrf=False)
    assert response.status_code == 403 and "security token" in text_of(response.text)
    forged = site.post("tom", "/staff/assignments/beras-mlp/regrade", {"csrf_token": "0" * 40}, csrf=False)
    assert forged.status_code == 403
    # Another person's token does not fit this session.
    theirs = site.post("tom", "/staff/assignments/beras-mlp/regrade",
                       {"csrf_token": token_for(site.sessions["ida"])},
                       csrf=False)
    assert theirs.status_code == 403


def test_cookie_calls_to_the_api_need_the_csrf_header_but_bearer_calls_do_not(site):
    path = "/api/assignments/beras-mlp/regrade"
    assert site.client.post(path, headers=site.cookie("tom")).status_code == 403
    ok = site.client.post(path,
                          headers={**site.cookie("tom"), "X-CSRF-Token": token_for(site.sessions["tom"])})
    assert ok.status_code == 200
    assert site.client.post(path,
                            headers={"Authorization": f"Bearer {site.tokens['tom']}"}).status_code == 200


def test_a_post_from_another_site_is_refused(site):
    response = site.post("tom", "/staff/assignments/beras-mlp/regrade", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and "another site" in response.json()["error"]


def test_unknown_pages_and_ids_get_a_page_not_a_traceback(site):
    missing = site.get("ann", "/no/such/page")
    assert missing.status_code == 404 and "no page at /no/such/page" in text_of(missing.text)
    assert site.get("ann", "/submissions/999999").status_code == 404
    assert site.get("ann", "/assignments/not-an-assignment").status_code == 404
    assert "<html" in site.get("tom", "/staff/submissions/424242").text


def test_pages_are_not_cached_or_framed(site):
    response = site.get("ann", "/assignments")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
