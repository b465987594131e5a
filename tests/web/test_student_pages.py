"""Student pages without a browser: the assignment list, the plain-form upload, and a submission's
feedback."""

from __future__ import annotations

import re

from grader.db import Submission
from tests.grading.conftest import submission
from tests.web.conftest import result_test, text_of


def test_the_list_shows_each_released_assignment_with_its_due_date_and_state(site, mlp):
    page = text_of(site.get("ann", "/assignments").text)
    due = mlp.assignment.schedule.due
    assert mlp.assignment.title in page
    assert due.astimezone().strftime("%Y-%m-%d") in page or "UTC" in page
    assert "open" in page and "Due in" in page and "none yet" in page


def test_an_extension_moves_the_due_date_the_student_sees(site, mlp):
    before = text_of(site.get("ann", "/assignments/beras-mlp").text)
    granted = site.post("tom", "/staff/assignments/beras-mlp/extensions",
                        {"email": "ann@course.edu", "days": "3"})
    assert granted.status_code == 200 and "now has 3 extra day(s)" in text_of(granted.text)
    after = text_of(site.get("ann", "/assignments/beras-mlp").text)
    assert "3-day extension" in after and "3-day extension" not in before
    assert "3-day extension" not in text_of(site.get("ben", "/assignments/beras-mlp").text)


def test_the_assignment_page_offers_the_starter_and_an_upload_form(site):
    html = site.get("ann", "/assignments/beras-mlp").text
    assert 'href="/api/assignments/beras-mlp/starter.zip"' in html
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html and 'id="dropzone"' in html
    starter = site.client.get("/api/assignments/beras-mlp/starter.zip", headers=site.cookie("ann"))
    assert starter.status_code == 200 and starter.content[:2] == b"PK"


def test_a_broken_zip_is_refused_on_the_page_with_the_reason_and_nothing_is_stored(site):
    response = site.post("ann", "/assignments/beras-mlp/submit",
                         files={"file": ("work.zip", b"not a zip", "application/zip")})
    assert response.status_code == 422
    assert "your submission was not accepted" in text_of(response.text)
    assert 'role="alert"' in response.text
    assert site.count(Submission) == 0


def test_submitting_without_choosing_a_file_says_so(site):
    response = site.post("ann", "/assignments/beras-mlp/submit",
                         files={"file": ("", b"", "application/octet-stream")})
    assert response.status_code == 400 and "choose your submission zip" in text_of(response.text)


def test_a_good_zip_goes_to_its_page_queued_with_its_place_in_line(site, mlp):
    first = site.post("ben", "/assignments/beras-mlp/submit",
                      files={"file": ("a.zip", submission(mlp), "application/zip")})
    response = site.post("ann", "/assignments/beras-mlp/submit",
                         files={"file": ("b.zip", submission(mlp), "application/zip")})
    assert first.status_code == response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/submissions/\d+", location)
    page = site.get("ann", location)
    words = text_of(page.text)
    assert "Status: queued" in words and "number 2 in the queue" in words
    assert '<meta http-equiv="refresh"' in page.text  # without script the page still updates itself
    history = text_of(site.get("ann", "/assignments/beras-mlp").text)
    assert "b.zip" in history and "a.zip" not in history


def test_feedback_follows_each_tests_visibility_before_the_due_date(site):
    tests = [result_test("public ok", "visible", True),
             result_test("public broken", "visible_until_due_date", False,
                                                       output="expected 3, got 4"),
             result_test("hidden one", "hidden", True), result_test("after due a", "after_due_date", False),
             result_test("after due b", "after_due_date", True)]
    submission_id = site.graded("ann", tests)
    words = text_of(site.get("ann", f"/submissions/{submission_id}").text)
    assert "public ok" in words and "public broken" in words and "expected 3, got 4" in words
    assert "hidden one" not in words and "after due a" not in words
    # One sentence on the three tests not shown, said once (the summary line does not repeat it).
    note = "3 more tests are graded but not shown yet; their points count after the due date."
    assert words.count(note) == 1 and words.count("3 more test") == 1
    assert "2 / 4" in words  # only the tests counted now
    staff = text_of(site.get("tom", f"/staff/submissions/{submission_id}").text)
    assert "hidden one" in staff and "after due a" in staff and "Replay with seed 5" in staff
