"""A similarity check in a real browser: a TA starts one, the page follows it to its end, and the flagged pair
opens side by side with the copied lines highlighted."""

from __future__ import annotations

import re

import pytest

from grader.db import Status, User
from grader.service.submissions import accept
from tests.browser.conftest import shot, sign_in
from tests.similarity import corpus

pytestmark = [pytest.mark.browser]
CHECK_MS = 180_000  # the check itself takes seconds; the embedded pool may first finish a job ahead of it


def _seed(site, who: str, files: dict[str, str]) -> int:
    """``who``'s submission of ``files``, stored through intake; left out of grading (see below)."""
    with site.runtime.sessions() as session:
        user = session.query(User).filter_by(email=f"{who}@course.edu").one()
        row = accept(session, site.runtime.blobs, user, "beras-mlp", corpus.zip_bytes(files), f"{who}.zip",
                     site.runtime.settings.max_upload_bytes)
        # Grading it in the sandbox would keep the live site's pool busy for minutes and is not what this
        # test is about; a check compares each student's latest submission whatever its state.
        row.status, row.failure_reason = Status.FAILED, "not graded: seeded for the similarity test"
        session.commit()
        return row.id


def test_a_ta_checks_similarity_and_opens_the_copied_pair_side_by_side(live_site, browser_page):
    src = corpus.sources()
    ann = _seed(live_site, "ann", src["A"])
    ben = _seed(live_site, "ben", corpus.reorder(corpus.recomment(corpus.rename(src["A"], corpus.A_NAMES))))
    _seed(live_site, "cy", src["C"])  # independent work: flagged with no one
    page = browser_page
    sign_in(page, live_site, "tom")
    page.goto(f"{live_site.url}/staff/assignments/beras-mlp")
    page.click("#similarity")
    page.wait_for_url("**/staff/assignments/beras-mlp/similarity")
    assert "not proof" in page.inner_text("#caveat")
    page.fill("#threshold", "0.5")
    page.click("#start-check")
    page.wait_for_url(re.compile(r".*/similarity\?notice=started$"))
    # The script follows /api/similarity/{id} and reloads the page when the check ends.
    page.wait_for_selector("#pairs", timeout=CHECK_MS)
    assert page.inner_text("#run-status") == "done" and "Check queued" not in page.inner_text("main")
    rows = page.query_selector_all("#pairs tbody tr")
    assert len(rows) == 1, page.inner_text("main")
    row = rows[0].inner_text()
    assert "ann@course.edu" in row and "ben@course.edu" in row
    assert "cy@course.edu" not in page.inner_text("main")
    shot(page, "ta-similarity-pairs")

    rows[0].query_selector("a").click()
    page.wait_for_url(re.compile(r".*/similarity/pairs/\d+\?run=\d+$"))
    main = page.inner_text("main")
    assert "ann@course.edu" in main and "ben@course.edu" in main
    assert page.get_attribute("#link-a", "href") == f"/staff/submissions/{ann}"
    assert page.get_attribute("#link-b", "href") == f"/staff/submissions/{ben}"
    assert len(page.query_selector_all(".sim-file")) >= 2  # several owned files matched, each side by side
    hits = page.query_selector_all(".sim-code span.line.hit")
    assert len(hits) > 20
    # Highlighted as a person sees it: the site's own stylesheet colours matched lines and only those, and
    # the two columns stand side by side.
    colour = "getComputedStyle(document.querySelector('{}')).backgroundColor"
    hit = page.evaluate(colour.format(".sim-code span.line.hit"))
    plain = page.evaluate(colour.format(".sim-code span.line:not(.hit)"))
    assert hit != plain and hit not in ("rgba(0, 0, 0, 0)", "transparent"), (hit, plain)
    left, right = (side.bounding_box() for side in page.query_selector_all(".sim-file")[0]
                   .query_selector_all(".sim-side"))
    assert right["x"] >= left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 2
    page.query_selector(".sim-code span.line.hit").scroll_into_view_if_needed()
    shot(page, "ta-similarity-pair")
