"""The TA's similarity pages without a browser: who may open them, the flagged pairs, the side-by-side view,
the CSV, and the refusals (bad filters, unknown pairs, a second check, a form without its token)."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from grader.db import Assignment, SimilarityRun, SimilarityStatus, User
from grader.service.similarity import CSV_COLUMNS, start_similarity
from grader.service.submissions import accept
from grader.service.users import add_user
from tests.similarity import corpus
from tests.web.conftest import text_of
from worker.similarity import run_similarity

PAGE = "/staff/assignments/beras-mlp/similarity"
CSV = "/staff/assignments/beras-mlp/similarity.csv"
# One numbered line of a side-by-side column; " hit" when it is matched.
HIT_LINE = re.compile(r'<span class="line( hit)?"><i>(\d+)</i>(.*?)</span>', re.S)


def _submit(site, who: str, files: dict[str, str]) -> int:
    with site.runtime.sessions() as session:
        user = session.query(User).filter_by(email=f"{who}@course.edu").one()
        row = accept(session, site.runtime.blobs, user, "beras-mlp", corpus.zip_bytes(files), f"{who}.zip",
                     site.runtime.settings.max_upload_bytes)
        session.commit()
        return row.id


def _check(site, threshold: float | None = None) -> int:
    """A similarity check of beras-mlp, started as tom and run here to its end; its id."""
    with site.runtime.sessions() as session:
        tom = session.query(User).filter_by(email="tom@course.edu").one()
        run = start_similarity(session, session.query(Assignment).one(), tom, threshold)
        run_id = run.id
    assert run_similarity(run_id, site.runtime) == "done"
    return run_id


@pytest.fixture
def checked(site):
    """ann hands in implementation A, ben a disguised copy of it (methods reordered, comments added), cat an
    independent implementation B; a check has run. Returns ``(site, run id, submission ids by student)``."""
    with site.runtime.sessions() as session:
        add_user(session, "cat@course.edu", "student", "Cat")
        session.commit()
    src = corpus.sources()
    ids = {"ann": _submit(site, "ann", src["A"]),
           "ben": _submit(site, "ben", corpus.reorder(corpus.recomment(src["A"]))),
           "cat": _submit(site, "cat", src["B"])}
    return site, _check(site), ids


def _pairs(page: str) -> list[dict]:
    """The pairs table's rows: each row's pair id, score (its data attribute) and visible words."""
    body = page.split('id="pairs"', 1)[1].split("</table>", 1)[0] if 'id="pairs"' in page else ""
    return [{"id": int(m.group(1)), "score": float(m.group(2)), "words": text_of(m.group(3))}
            for m in re.finditer(r'<tr data-pair="(\d+)" data-score="([0-9.]+)">(.*?)</tr>', body, re.S)]


def _pair_url(page: str) -> str:
    return html.unescape(re.search(r'href="(/staff/assignments/beras-mlp/similarity/pairs/[^"]+)"', page)[1])


def test_only_staff_open_the_pages_and_students_never_see_them(checked):
    site, run_id, _ = checked
    pair_url = _pair_url(site.get("tom", PAGE).text)
    for path in (PAGE, pair_url, CSV):
        anonymous = site.get(None, path)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=/staff")
        for who in ("ann", "ben"):
            response = site.get(who, path)
            assert response.status_code == 403, (who, path)
            assert "layers/dense.py" not in response.text  # nothing of the check leaks into the refusal
        for who in ("tom", "ida"):
            assert site.get(who, path).status_code == 200, (who, path)
    refused = site.post("ann", PAGE, {"threshold": "0.5"})
    assert refused.status_code == 403 and site.count(SimilarityRun) == 1
    assert site.post(None, PAGE, {"threshold": "0.5"}).status_code == 303  # to sign in
    assert site.count(SimilarityRun) == 1  # neither a student nor a stranger started one


def test_the_page_lists_the_copied_pair_by_score_and_not_the_independent_ones(checked):
    site, run_id, ids = checked
    page = site.get("tom", PAGE).text
    words = text_of(page)
    assert "a reason to look" in words and "not proof" in words
    assert f"Check #{run_id} done" in words
    rows = _pairs(page)
    assert len(rows) == 1, rows  # ann and ben; cat's independent work is flagged with no one
    (row,) = rows
    assert "ann@course.edu" in row["words"] and "ben@course.edu" in row["words"]
    assert "cat@course.edu" not in words
    assert row["score"] >= 0.5 and f"{round(100 * row['score'])}%" in row["words"]
    assert "layers/dense.py" in row["words"]
    assert f'href="{CSV}"' in page
    assert "Check queued" not in text_of(site.get("tom", f"{PAGE}?notice=started").text)  # it has ended
    # The assignment's own page leads here.
    assert f'href="{PAGE}"' in site.get("tom", "/staff/assignments/beras-mlp").text


def test_min_filters_the_pairs_and_a_bad_one_is_a_clear_422(checked):
    site, _, _ = checked
    (row,) = _pairs(site.get("tom", PAGE).text)
    assert 0.5 <= row["score"] < 0.999  # the shown score is rounded to 4 places: filter just around it
    below = site.get("tom", f"{PAGE}?min={row['score'] - 0.0001:.4f}")
    assert [r["id"] for r in _pairs(below.text)] == [row["id"]]
    above = site.get("tom", f"{PAGE}?min={row['score'] + 0.0001:.4f}")
    assert above.status_code == 200 and _pairs(above.text) == []
    assert "No pair scores at or above" in text_of(above.text)
    assert _pairs(site.get("tom", f"{PAGE}?min=").text) == [row]  # an emptied filter: the threshold
    for bad in ("abc", "1.5", "nan", "-0.1", "1e-1", "٠.٥"):
        response = site.get("tom", f"{PAGE}?min={bad}")
        assert response.status_code == 422, bad
        words = text_of(response.text)
        assert "min" in words and "a number from 0 to 1" in words and "Traceback" not in response.text


def test_the_pair_page_marks_the_copied_lines_not_the_starters_and_names_both(checked):
    site, run_id, ids = checked
    page = site.get("tom", _pair_url(site.get("tom", PAGE).text))
    assert page.status_code == 200
    words = text_of(page.text)
    assert "ann@course.edu" in words and "ben@course.edu" in words and "cat@course.edu" not in words
    assert f'href="/staff/submissions/{ids["ann"]}"' in page.text
    assert f'href="/staff/submissions/{ids["ben"]}"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no external assets
    dense = page.text.split("<code>layers/dense.py</code>", 1)[1].split("</section>", 1)[0]
    left = dense.split('<div class="sim-side">')[1]  # ann's file, as she handed it in
    lines = [(n, bool(hit), html.unescape(text)) for hit, n, text in
             ((m[1], int(m[2]), m[3]) for m in HIT_LINE.finditer(left))]
    ann_dense = corpus.sources()["A"]["layers/dense.py"].splitlines()
    assert [text for _, _, text in lines] == ann_dense  # numbered, every line, as handed in
    hits = {text.strip() for _, hit, text in lines if hit}
    starter = corpus.starter()["layers/dense.py"].splitlines()
    copied = {line.strip() for line in ann_dense} - {line.strip() for line in starter}
    assert len(hits & copied) >= 5  # ann's own lines, which ben copied, are marked
    # The starter's prelude (docstring, imports: all up to the class) is everyone's: never marked.
    prelude = next(i for i, line in enumerate(ann_dense) if line.startswith("class "))
    assert prelude > 0 and not any(hit for n, hit, _ in lines if n <= prelude)


def test_the_csv_holds_the_pages_pairs(checked):
    site, run_id, ids = checked
    (row,) = _pairs(site.get("tom", PAGE).text)
    response = site.get("ida", CSV)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert f'filename="beras-mlp-similarity-{run_id}.csv"' in response.headers["content-disposition"]
    header, *rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(header) == CSV_COLUMNS
    assert len(rows) == 1
    line = dict(zip(header, rows[0]))
    assert int(line["pair"]) == row["id"] and float(line["score"]) == pytest.approx(row["score"], abs=1e-4)
    assert {line["a_student"], line["b_student"]} == {"ann@course.edu", "ben@course.edu"}
    assert {int(line["a_submission"]), int(line["b_submission"])} == {ids["ann"], ids["ben"]}
    assert line["b_archived"] == "no" and "layers/dense.py" in line["files"].split()


def test_unknown_pairs_and_checks_are_clear_errors(checked):
    site, run_id, _ = checked
    (row,) = _pairs(site.get("tom", PAGE).text)
    base = f"{PAGE}/pairs"
    assert site.get("tom", f"{base}/{row['id']}?run={run_id}").status_code == 200
    missing = site.get("tom", f"{base}/{row['id'] + 1000}")
    assert missing.status_code == 404 and "pair" in text_of(missing.text)
    other_run = site.get("tom", f"{base}/{row['id']}?run={run_id + 1000}")
    assert other_run.status_code == 404 and "similarity check" in text_of(other_run.text)
    for bad in (f"{base}/{row['id']}?run=abc", f"{base}/0", f"{base}/x"):
        response = site.get("tom", bad)
        assert response.status_code == 422, bad
        assert "Traceback" not in response.text
    assert site.get("tom", "/staff/assignments/nope/similarity").status_code == 404
    # A newer check: the old pair is found by its check's number, not as the latest's.
    second = _check(site)
    assert site.get("tom", f"{base}/{row['id']}").status_code == 404
    assert site.get("tom", f"{base}/{row['id']}?run={run_id}").status_code == 200
    assert [r["id"] for r in _pairs(site.get("tom", PAGE).text)] != [row["id"]] and second > run_id


def test_starting_a_check_queues_it_shows_its_progress_and_refuses_a_second(site):
    assert site.get("tom", CSV).status_code == 409  # nothing finished to export yet
    first = site.get("tom", PAGE)
    assert first.status_code == 200 and "No similarity check of beras-mlp yet" in text_of(first.text)
    no_token = site.post("tom", PAGE, {"threshold": "0.6"}, csrf=False)
    assert no_token.status_code == 403 and "security token" in text_of(no_token.text)
    bad = site.post("tom", PAGE, {"threshold": "lots"})
    assert bad.status_code == 422 and "threshold must be a number from 0 to 1" in text_of(bad.text)
    assert site.count(SimilarityRun) == 0

    started = site.post("tom", PAGE, {"threshold": "0.6"})
    assert started.status_code == 303 and started.headers["location"].startswith(PAGE)
    with site.runtime.sessions() as session:
        run = session.query(SimilarityRun).one()
        assert (run.status, run.threshold) == (SimilarityStatus.QUEUED, 0.6)
        run_id = run.id
    page = site.get("tom", started.headers["location"]).text
    assert "Check queued" in text_of(page)
    assert f'data-progress="/api/similarity/{run_id}"' in page and "<progress" in page
    assert '<noscript><meta http-equiv="refresh"' in page
    again = site.post("ida", PAGE, {"threshold": "0.5"})
    assert again.status_code == 409 and "already queued" in text_of(again.text)
    assert site.count(SimilarityRun) == 1


def test_a_failed_check_shows_why(site):
    with site.runtime.sessions() as session:
        run = start_similarity(session, session.query(Assignment).one(), None)
        run.status, run.error = SimilarityStatus.FAILED, "archive/old.zip is not a zip file"
        session.commit()
    page = site.get("tom", PAGE)
    assert page.status_code == 200
    assert "This check could not finish: archive/old.zip is not a zip file" in text_of(page.text)
    assert "<progress" not in page.text and site.get("tom", CSV).status_code == 409
