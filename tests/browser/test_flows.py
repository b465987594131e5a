"""The product in a real browser: a student submits, a TA releases and regrades, an instructor reads and
exports."""

from __future__ import annotations

import base64
import csv
import io
import re

import httpx
import pytest

from grader.db import Assignment
from grader.reports import course_gradebook
from grader.service.gradebook import gradebook
from tests.browser.conftest import shot, sign_in
from tests.grading.conftest import submission

pytestmark = [pytest.mark.browser, pytest.mark.grading]
BUG = "CategoricalAccuracy.forward = lambda self, p, l: 0.0\n"
GRADING_S = 240_000  # ms: a grading run, with another one ahead of it in the queue


def _api_submit(site, who: str, data: bytes) -> int:
    response = httpx.post(f"{site.url}/api/assignments/beras-mlp/submissions", timeout=30,
                          headers={"Authorization": f"Bearer {site.tokens[who]}"},
                          files={"file": ("s.zip", data, "application/zip")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_student_submits_a_correct_zip_and_a_broken_one(live_site, browser_page, mlp):
    page = browser_page
    sign_in(page, live_site, "ann")
    assert page.url.endswith("/assignments")
    shot(page, "student-assignments")
    page.click(f"text={mlp.assignment.title}")
    page.wait_for_url("**/assignments/beras-mlp")
    shot(page, "student-assignment")

    page.set_input_files("#file", files=[{"name": "ann.zip", "mimeType": "application/zip",
                                          "buffer": submission(mlp)}])
    page.click("#submit-button")
    page.wait_for_url(re.compile(r".*/submissions/\d+$"))
    assert page.inner_text("#status") in ("queued", "running", "graded")
    # The script follows the status and shows the result when grading ends, without a manual reload.
    page.wait_for_selector("#score", timeout=GRADING_S)
    assert page.inner_text("#status") == "graded"
    score = page.inner_text("#score")
    visible = mlp.assignment.points[0].points
    assert score == f"{visible:g} / {visible:g}", score  # before the due date only the sanity checks count
    assert "graded but not shown yet; their points count after the due date" in page.inner_text("#withheld")
    shot(page, "student-submission-graded")

    # A broken zip, dropped on the drop zone: the intake's reason shows on the page, nothing is queued.
    page.goto(f"{live_site.url}/assignments/beras-mlp")
    broken = base64.b64encode(b"this is not a zip file").decode()
    page.evaluate("""(data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "broken.zip", {type: "application/zip"}));
        const zone = document.querySelector("#dropzone");
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }""", broken)
    assert page.evaluate("document.querySelector('#file').files[0].name") == "broken.zip"
    page.click("#submit-button")
    error = page.wait_for_selector("#upload-error:not([hidden])")
    assert "Your submission was not accepted" in error.inner_text()
    assert page.url.endswith("/assignments/beras-mlp")
    shot(page, "student-upload-error")
    assert len(page.query_selector_all("#history tbody tr")) == 1  # the broken zip stored nothing


def test_a_student_cannot_open_staff_or_instructor_pages(live_site, browser_page):
    page = browser_page
    sign_in(page, live_site, "cy")
    for path in ("/staff", "/staff/assignments/beras-mlp", "/instructor/gradebook",
                 "/instructor/assignments/beras-mlp/report"):
        response = page.goto(f"{live_site.url}{path}")
        assert response.status == 403, path
        assert "you are signed in as cy@course.edu (student)" in page.inner_text("main")
    assert page.query_selector("nav >> text=Staff") is None


def test_a_ta_runs_the_gate_publishes_and_regrades_everything(live_site, browser_page, mlp):
    for who in ("ben", "cy"):  # a planted bug: the report has a test most failed, with its message
        _api_submit(live_site, who, submission(mlp, append={"beras/metrics.py": BUG}))
    page = browser_page
    sign_in(page, live_site, "tom")
    page.goto(f"{live_site.url}/staff/assignments/beras-mlp")
    shot(page, "ta-assignment")
    page.fill("#seed", "11")
    page.click("#run-gate")
    page.wait_for_url(re.compile(r".*/staff/gates/\d+$"))
    # The gate runs the real suites against the reference, the starter and the degenerate submissions.
    page.wait_for_selector("#gate-status.passed, #gate-status.refused, #gate-status.error", timeout=600_000)
    assert page.inner_text("#gate-status") == "passed", page.inner_text("main")
    report = page.inner_text("#gate-report")
    assert ("reference" in report and "7. degenerate submissions score nothing" in report
            and "lookup 0" in report)
    shot(page, "ta-gate-report")
    page.click("#publish")
    page.wait_for_selector("#published")

    # Every graded submission waits for grading to end before it can be regraded.
    _wait_all_graded(live_site)
    page.goto(f"{live_site.url}/staff/assignments/beras-mlp")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#regrade-all")
    page.wait_for_url(re.compile(r".*/staff/regrades/\d+$"))
    page.wait_for_selector("#progress[data-finished=yes]", timeout=GRADING_S * 2)
    bar = page.query_selector("#progress progress")
    assert bar.get_attribute("value") is not None
    assert page.evaluate("document.querySelector('#progress progress').value") == \
        page.evaluate("document.querySelector('#progress progress').max")
    label = page.inner_text(".progress-label")
    assert "(100%)" in label and "0 waiting" in label
    shot(page, "ta-regrade-progress")


def _wait_all_graded(site, timeout: float = 300) -> None:
    import time

    from grader.db import WAITING, Submission

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with site.runtime.sessions() as session:
            waiting = session.query(Submission).filter(Submission.status.in_(WAITING)).count()
        if not waiting:
            return
        time.sleep(1)
    raise TimeoutError("submissions still waiting to be graded")


def test_an_instructor_reads_the_report_and_downloads_csvs_that_match_the_database(live_site, browser_page,
                                                                                   mlp):
    _wait_all_graded(live_site)
    if not _graded_count(live_site):
        _api_submit(live_site, "ben", submission(mlp))
        _wait_all_graded(live_site)
    page = browser_page
    sign_in(page, live_site, "ida")
    assert page.url.endswith("/instructor/gradebook")
    shot(page, "instructor-gradebook")
    page.goto(f"{live_site.url}/instructor/assignments/beras-mlp/report")
    charts = page.query_selector_all("figure svg")
    assert len(charts) >= 2
    assert (page.query_selector("#histogram svg") is not None
            and page.query_selector("#pass-rates svg") is not None)
    assert "Median time to grade" in page.inner_text("main")
    most_failed = page.inner_text("#most-failed")
    assert "metrics" in most_failed.lower() or "accuracy" in most_failed.lower(), most_failed
    shot(page, "instructor-report")

    page.goto(f"{live_site.url}/instructor/gradebook")
    with page.expect_download() as download:
        page.click("#export-assignment-csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    with live_site.runtime.sessions() as session:
        assignment = session.query(Assignment).filter_by(name="beras-mlp").one()
        expected = {row.email: row for row in gradebook(session, assignment, "best")}
        book = course_gradebook(session, "best")
    assert {r["email"] for r in rows} == set(expected)
    for row in rows:
        want = expected[row["email"]]
        assert (row["score"] or None) == (None if want.score is None else f"{want.score:g}")
        assert int(row["late_days"]) == want.late_days
        assert (row["submission_id"] or None) == (str(want.submission_id) if want.submission_id else None)

    with page.expect_download() as download:
        page.click("#export-canvas")
    canvas = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0].strip() == "Points Possible"
    by_email = {line[2]: line for line in canvas[2:]}
    assert set(by_email) == {r.email for r in book.rows}
    column = canvas[0].index(book.assignments[0].label)
    for row in book.rows:
        cell = row.cells[0]
        exported = by_email[row.email][column]
        # Canvas reads a number: the export may give more digits than the gradebook shows.
        assert ((exported == "") if cell.score is None
                else (float(exported) == pytest.approx(cell.score, abs=1e-6)))
    assert len({line[column] for line in canvas[2:]}) > 1  # the planted bug scored lower: a real spread


def _graded_count(site) -> int:
    from grader.db import Status, Submission

    with site.runtime.sessions() as session:
        return session.query(Submission).filter(Submission.status == Status.GRADED).count()
