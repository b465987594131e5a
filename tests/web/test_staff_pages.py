"""TA pages without a browser: settings, new assignments, the gate form, regrade progress, a submission's
details."""

from __future__ import annotations

import pytest

from grader.db import Extension, RegradeBatch, Status, Submission
from grader.harness.jobspec import JUDGE_LOG
from tests.web.conftest import result_test, text_of


def _toml(site) -> str:
    return (site.runtime.settings.assignments_dir / "beras-mlp" / "assignment.toml").read_text()


def _form(site) -> dict[str, str]:
    from grader.service.assignment_settings import read_settings

    return read_settings(site.runtime.settings, "beras-mlp")


def test_the_overview_lists_released_and_draft_assignments(site):
    words = text_of(site.get("tom", "/staff").text)
    assert "beras-mlp" in words and "beras-cnn" in words and "not released" in words


def test_saving_settings_writes_the_toml_and_says_what_changed(site):
    values = _form(site) | {"schedule.late_penalty_per_day": "0.25", "submissions.rate_limit_count": "4"}
    response = site.post("tom", "/staff/assignments/beras-mlp/settings", values)
    assert response.status_code == 200
    words = text_of(response.text)
    assert "Saved" in words and "0.1 → 0.25" in words and "Run the release gate" in words
    text = _toml(site)
    assert "late_penalty_per_day = 0.25" in text and "rate_limit_count = 4" in text
    assert "# Beras, part 1: the MLP." in text  # the TA's comments survive


def test_bad_settings_are_refused_field_by_field_and_the_file_is_untouched(site):
    before = _toml(site)
    values = _form(site) | {"schedule.late_penalty_per_day": "1.5", "limits.memory_mb": "lots"}
    response = site.post("tom", "/staff/assignments/beras-mlp/settings", values)
    assert response.status_code == 422
    words = text_of(response.text)
    assert "Late penalty per day" in words and "Memory (MB)" in words and "not saved" in words
    assert 'value="lots"' in response.text  # the form keeps what the TA typed, to correct it
    assert _toml(site) == before


def test_a_new_assignment_is_created_from_a_copy(site):
    response = site.post("tom", "/staff/assignments/new", {"name": "beras-mlp-2", "title": "MLP again",
                                                            "copy_from": "beras-mlp"})
    assert (response.status_code == 303
            and response.headers["location"].startswith("/staff/assignments/beras-mlp-2"))
    page = site.get("tom", response.headers["location"]).text
    assert "Assignment created" in text_of(page) and 'value="MLP again"' in page
    again = site.post("tom", "/staff/assignments/new", {"name": "beras-mlp-2", "title": "x", "copy_from": ""})
    assert again.status_code == 409 and "already" in text_of(again.text)
    bad = site.post("tom", "/staff/assignments/new", {"name": "../escape", "title": "x", "copy_from": ""})
    assert bad.status_code == 400
    assert not (site.runtime.settings.assignments_dir.parent / "escape").exists()


def test_the_gate_form_refuses_a_seed_that_is_not_a_number(site):
    response = site.post("tom", "/staff/assignments/beras-mlp/gate", {"seed": "abc"})
    assert response.status_code == 422 and "whole number" in text_of(response.text)


def test_regrade_all_shows_a_progress_bar_that_fills_as_submissions_finish(site):
    first = site.graded("ann", [result_test("t1", "visible", True)])
    second = site.graded("ben", [result_test("t1", "visible", False)])
    response = site.post("tom", "/staff/assignments/beras-mlp/regrade")
    assert response.status_code == 303
    page = site.get("tom", response.headers["location"])
    assert "0 of 2 done (0%)" in text_of(page.text)
    assert '<progress max="2" value="0">' in page.text
    with site.runtime.sessions() as session:
        session.get(Submission, first).status = Status.GRADED
        session.commit()
        batch = session.query(RegradeBatch).one()
    assert "1 of 2 done (50%)" in text_of(site.get("tom", f"/staff/regrades/{batch.id}").text)
    with site.runtime.sessions() as session:
        session.get(Submission, second).status = Status.FAILED
        session.commit()
    done = site.get("tom", f"/staff/regrades/{batch.id}").text
    assert "2 of 2 done (100%)" in text_of(done) and "1 could not be graded" in text_of(done)
    assert 'data-finished="yes"' in done and "http-equiv" not in done  # finished: no more refreshing


def test_a_submission_shows_resources_phases_logs_and_a_replay_button(site):
    log_sha = site.runtime.blobs.put(b"judge says hello\n")
    submission_id = site.graded("ann", [result_test("t1", "hidden", False, output="boom")], data={
        "resources": {"peak_memory_mb": 123.4, "cpu_s": 2.5}, "phases": {"sandbox_run_s": 3.25},
        "logs": {JUDGE_LOG: log_sha}, "integrity": {"tamper_proof": True, "note": "separate uids"}})
    page = site.get("tom", f"/staff/submissions/{submission_id}")
    words = text_of(page.text)
    assert "peak_memory_mb 123.4" in words and "sandbox_run_s 3.250" in words and "tamper-proof" in words
    assert "Replay with seed 5" in words and "boom" in words
    with site.runtime.sessions() as session:
        result_id = session.get(Submission, submission_id).current_result_id
    log = site.get("tom", f"/staff/submissions/{submission_id}/logs/{result_id}/{JUDGE_LOG}")
    assert log.status_code == 200 and log.text == "judge says hello\n"
    # A log is the student's text: never run as a page, never kept by a cache.
    assert log.headers["x-content-type-options"] == "nosniff" and log.headers["cache-control"] == "no-store"
    assert site.get("ann",
                    f"/staff/submissions/{submission_id}/logs/{result_id}/{JUDGE_LOG}").status_code == 403
    assert site.get("tom", f"/staff/submissions/{submission_id}/logs/{result_id}/nope.log").status_code == 404

    replayed = site.post("tom", f"/staff/submissions/{submission_id}/replay", {"result_id": str(result_id)})
    assert replayed.status_code == 303
    with site.runtime.sessions() as session:
        row = session.get(Submission, submission_id)
        assert row.status == Status.QUEUED and row.replay_seed == 5
    assert "Replay with seed" not in text_of(site.get("tom", f"/staff/submissions/{submission_id}").text)


def test_a_notice_comes_from_a_fixed_set_never_from_the_query_string(site):
    submission_id = site.graded("ann", [result_test("t1", "visible", True)])
    forged = "Your session expired: mail your sign-in token to help@evil.example"
    for path in (f"/staff/submissions/{submission_id}", "/staff/assignments/beras-mlp", "/staff/gates/1"):
        page = site.get("tom", f"{path}?notice={forged}&created=1&published=1")
        assert "evil.example" not in page.text and 'role="status"' not in page.text, path
    regraded = site.post("tom", f"/staff/submissions/{submission_id}/regrade")
    assert regraded.status_code == 303 and regraded.headers["location"].endswith("?notice=regrading")
    words = text_of(site.get("tom", regraded.headers["location"]).text)
    assert "Regrade queued" in words


HUGE = "99999999999999999999"  # past SQLite's and PostgreSQL's integers


def _said(response) -> str:
    """The page's words in lower case (an error page capitalises the message's first word)."""
    return text_of(response.text).lower()


@pytest.mark.parametrize("typed", ["\u00b2", "\u0663", "--5", "1_0", HUGE, "9" * 5000])
def test_numbers_typed_into_staff_forms_are_refused_by_field(site, typed):
    submission_id = site.graded("ann", [result_test("t1", "visible", True)])
    seed = site.post("tom", "/staff/assignments/beras-mlp/gate", {"seed": typed})
    assert seed.status_code == 422 and "the seed must be a whole number from 0 to 2147483647" in _said(seed)
    days = site.post("tom", "/staff/assignments/beras-mlp/extensions",
                     {"email": "ann@course.edu", "days": typed})
    assert days.status_code == 422 and "extension days must be a whole number from 0 to 365" in _said(days)
    replay = site.post("tom", f"/staff/submissions/{submission_id}/replay", {"result_id": typed})
    assert replay.status_code == 422 and "result_id must be a whole number from 1 to" in _said(replay)
    for page in (seed, days, replay):
        assert len(page.text) < 20_000  # the value is quoted cut short
    with site.runtime.sessions() as session:
        assert session.get(Submission, submission_id).status == Status.GRADED  # nothing was queued
        assert session.query(Extension).count() == 0


@pytest.mark.parametrize("path", [f"/staff/submissions/{HUGE}", f"/staff/gates/{HUGE}",
                                  f"/staff/regrades/{HUGE}", f"/staff/submissions/1/logs/{HUGE}/judge.log",
                                  f"/submissions/{HUGE}",
                                  "/staff/submissions/0", "/staff/gates/-1", "/staff/submissions/\u00b2"])
def test_an_id_no_row_can_have_is_refused_by_name_not_a_server_error(site, path):
    who = "ann" if path.startswith("/submissions") else "tom"
    response = site.get(who, path)
    assert response.status_code == 422, response.text
    words = text_of(response.text)
    assert any(name in words for name in ("submission_id", "gate_id", "batch_id", "result_id"))


def test_a_submission_names_the_guarantees_its_sandbox_could_not_give(site):
    missing = [{"guarantee": "job_memory_limit", "why": "this machine has no cgroup file system"},
               {"guarantee": "syscall_filter", "why": "this kernel has no seccomp"}]
    submission_id = site.graded("ann", [result_test("t1", "hidden", True)], data={
        "integrity": {"tamper_proof": True, "note": "separate uids", "confined": False, "missing": missing}})
    words = text_of(site.get("tom", f"/staff/submissions/{submission_id}").text)
    assert ("Not confined job_memory_limit: this machine has no cgroup file system; "
            "syscall_filter: this kernel has no seccomp") in words
    confined = site.graded("ann", [result_test("t1", "hidden", True)], data={
        "integrity": {"tamper_proof": True, "note": "separate uids", "confined": True, "missing": []}})
    assert "Not confined" not in text_of(site.get("tom", f"/staff/submissions/{confined}").text)


def test_a_submission_shows_the_environment_it_was_graded_in(site):
    environment = {"backend": "docker", "image": "beras-grader-sandbox:0123456789ab", "python": "3.11.2",
                   "numpy": "2.4.6", "pytest": "9.2.0"}
    submission_id = site.graded("ann", [result_test("t1", "hidden", True)], data={"environment": environment})
    words = text_of(site.get("tom", f"/staff/submissions/{submission_id}").text)
    assert ("Environment Python 3.11.2, numpy 2.4.6, pytest 9.2.0 (image beras-grader-sandbox:0123456789ab, "
            "backend docker)") in words


def test_an_unknown_email_stays_on_the_assignment_page_and_an_unknown_assignment_is_not_found(site):
    # Both are 404s: the unknown student is a problem with the form (shown on the page, the form kept), the
    # unknown assignment is a missing page. The page tells them apart by the error's type, not its words.
    unknown = site.post("tom", "/staff/assignments/beras-mlp/extensions",
                        {"email": "nobody@course.edu", "days": "2"})
    assert unknown.status_code == 404
    assert "no user with email 'nobody@course.edu'; import the roster first" in _said(unknown)
    assert 'name="email"' in unknown.text  # the assignment page and its extension form, not the error page
    missing = site.post("tom", "/staff/assignments/nope/extensions", {"email": "ann@course.edu", "days": "2"})
    assert missing.status_code == 404 and "no assignment 'nope'" in _said(missing)
    assert 'name="email"' not in missing.text
