"""Publishing shows what changes against the published version and offers to regrade what it replaces.

Two toy releases staged without the gate stand for the published version and a passed gate's release.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from grader.app import create_app
from grader.db import Assignment, GateRun, GateStatus, RegradeBatch, Result, Status, Submission, User, utcnow
from grader.service.errors import ServiceError
from grader.service.gates import publish_gate
from grader.service.releases import publish
from grader.service.users import add_user, new_token
from tests.service.conftest import Parked, make_runtime
from tests.service.staged import TOY_REFERENCE, change_toy, stage, toy_course
from tests.web.conftest import PEOPLE, Site, text_of

MOVED = "hidden_tests/test_ops.py::test_scale_sum_random"


class Recording(Parked):
    """A parked queue that notes what was sent to it."""

    def __init__(self, runtime):
        super().__init__(runtime)
        self.sent: list[int] = []

    def _send(self, submission_id: int, queue: str, countdown_s: float) -> None:
        self.sent.append(submission_id)


def _submission(session, who: str, assignment: Assignment, status: Status) -> int:
    """A submission of ``who`` on the assignment's current version; graded ones get a current result."""
    user = session.query(User).filter_by(email=f"{who}@course.edu").one()
    row = Submission(user_id=user.id, assignment_id=assignment.id, version_id=assignment.current_version_id,
                     blob_sha256="0" * 64, size=1, filename="s.zip", status=status)
    session.add(row)
    session.flush()
    if status == Status.GRADED:
        now = utcnow()
        result = Result(submission_id=row.id, version_id=row.version_id, status="graded", score=1.0,
                        max_score=10.0, received_at=now, started_at=now, finished_at=now,
                        data={"status": "graded", "tests": []})
        session.add(result)
        session.flush()
        row.current_result_id = result.id
    return row.id


def _read(html: str) -> str:
    """The page's words with ``<code>`` pieces joined to the punctuation after them, as a person reads
    them."""
    return text_of(html).replace(" ,", ",").replace(" :", ":")


def _gate(session, autograder, starter, started_at=None) -> int:
    """A gate run that passed with this release, as ``run_gate`` records one."""
    gate = GateRun(assignment_name="toy", status=GateStatus.PASSED, seed=1, started_at=started_at or utcnow(),
                   finished_at=utcnow(), report={"ok": True}, report_text="Release passed", error="",
                   autograder_path=str(autograder), starter_path=str(starter))
    session.add(gate)
    session.commit()
    return gate.id


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """Staged once for the module (publishing only reads them): toy ``v1``, another assignment's ``o1``, and
    toy ``v2`` with the edits of ``change_toy``; and the assignments folder, as of ``v2``."""
    root = tmp_path_factory.mktemp("publish")
    assignments = toy_course(root / "course")
    toy = assignments / "toy"
    v1 = stage(toy, root / "v1", "v1")
    other_dir = root / "elsewhere" / "other"  # outside the toy's folder: a second assignment of its own
    shutil.copytree(toy, other_dir)
    toml = other_dir / "assignment.toml"
    toml.write_text(toml.read_text().replace('name = "toy"', 'name = "other"'))
    other = stage(other_dir, root / "o1", "o1")
    change_toy(toy)
    v2 = stage(toy, root / "v2", "v2", readme="# Toy, second edition\n")
    return assignments, v1, other, v2


@pytest.fixture
def course(tmp_path, releases):
    """Toy ``v1`` published with submissions graded against it, another assignment with one of its own, and a
    passed gate (``course.gate``) of toy ``v2`` waiting to be published."""
    assignments, v1, other, v2 = releases
    runtime = make_runtime(tmp_path / "data", assignments_dir=assignments, reference=TOY_REFERENCE,
                           sandbox="local")
    runtime.dispatcher = Recording(runtime)
    sessions, tokens = {}, {}
    with runtime.sessions() as session:
        for who, role in PEOPLE:
            user, tokens[who] = add_user(session, f"{who}@course.edu", role, who.capitalize())
            sessions[who] = new_token(session, user, kind="session")
        session.commit()
        toy_row = publish(session, runtime.blobs, *v1).assignment
        other_row = publish(session, runtime.blobs, *other).assignment
        runtime.old = [_submission(session, "ann", toy_row, Status.GRADED),
                       # every one counts, not only the latest
                       _submission(session, "ann", toy_row, Status.FAILED),
                       _submission(session, "ben", toy_row, Status.GRADED)]
        runtime.waiting = _submission(session, "ben", toy_row, Status.QUEUED)
        runtime.other = _submission(session, "ann", other_row, Status.GRADED)
        session.commit()
        runtime.gate = _gate(session, *v2)
        runtime.v1, runtime.v2 = v1, v2
    with TestClient(create_app(runtime, background=False)) as client:
        yield Site(client, runtime, sessions, tokens)


def test_the_gate_page_lists_what_publishing_changes(course):
    page = course.get("tom", f"/staff/gates/{course.runtime.gate}")
    assert page.status_code == 200
    text = _read(page.text)
    for line in ("Against the published version v1 (this release is v2)",
                 "Tests added (2): public_tests/test_more.py::test_more, "
                 "hidden_tests/test_ops.py::test_double_zeros",
                 "Points of group hidden: 8.0 → 10.0", "Points of group sum: — → 3.0 (new group)",
                 f"Test {MOVED} moved from group hidden to sum",
                 "Visibility of group public: visible → after_due_date",
                 "Limit wall_time_s: 600.0 → 300.0", "Schedule due: — → 2027-01-15T23:59:00-05:00",
                 "Starter files added: public_tests/test_more.py", "Starter files changed: README.md",
                 "Hidden test files changed: test_ops.py"):
        assert line in text, line
    assert "Regrade the" not in text  # nothing is replaced until it is published
    assert "assert_close(student.beras.double(np.zeros(2))" not in page.text  # hidden tests by name only
    assert course.get("ann", f"/staff/gates/{course.runtime.gate}").status_code == 403


def test_the_api_gate_view_carries_the_same_changes(course):
    view = course.client.get(f"/api/gates/{course.runtime.gate}",
                             headers={"Authorization": f"Bearer {course.tokens['tom']}"}).json()
    changes = view["changes"]
    assert (changes["first_release"], changes["old_version"], changes["new_version"]) == (False, "v1", "v2")
    assert changes["moved"] == [{"key": MOVED, "old": "hidden", "new": "sum"}]
    assert changes["limits"] == [{"key": "wall_time_s", "old": 600.0, "new": 300.0}]
    assert changes["starter_files"] == {"added": ["public_tests/test_more.py"], "removed": [],
                                        "changed": ["README.md"]}


def test_publishing_then_one_click_regrades_exactly_the_submissions_graded_against_the_old_version(course):
    gate, runtime = course.runtime.gate, course.runtime
    published = course.post("tom", f"/staff/gates/{gate}/publish", {"against": "v1"})
    assert published.status_code == 303, text_of(published.text)
    text = text_of(course.get("tom", f"/staff/gates/{gate}").text)
    assert "Regrade the 3 submissions graded against version v1" in text
    assert "1 more is still being graded against version v1" in text
    assert "What publishing changes" not in text  # published: the offer replaces the changes

    url = "/staff/assignments/toy/versions/v1/regrade"
    assert course.post("tom", url, csrf=False).status_code == 403
    assert course.post("ann", url).status_code == 403
    assert runtime.dispatcher.sent == []
    queued = course.post("tom", url)
    assert queued.status_code == 303 and "notice=version-regrade" in queued.headers["location"]
    assert ("Queued 3 submission(s) for a regrade"
            in text_of(course.get("tom", queued.headers["location"]).text))
    assert sorted(runtime.dispatcher.sent) == runtime.old
    with runtime.sessions() as session:
        current = session.query(Assignment).filter_by(name="toy").one().current_version_id
        batch = session.query(RegradeBatch).one()
        assert batch.submission_ids == runtime.old
        for submission_id in runtime.old:
            row = session.get(Submission, submission_id)
            assert (row.status, row.regrade, row.version_id) == (Status.QUEUED, True, current)
        # still being graded: left alone
        assert session.get(Submission, runtime.waiting).version_id != current
        # another assignment's: untouched
        assert session.get(Submission, runtime.other).status == Status.GRADED
    again = course.post("tom", url)
    assert (again.status_code == 409
            and "No graded or failed submission of toy is graded against version v1 now"
            in text_of(again.text))
    offers = course.client.get("/api/assignments/toy/versions/regrade",
                               headers={"Authorization": f"Bearer {course.tokens['tom']}"}).json()
    assert [(o["version"], o["submissions"], o["waiting"]) for o in offers] == [("v1", 0, 1)]


def test_a_gate_overtaken_by_a_later_release_is_not_published(course):
    runtime = course.runtime
    with runtime.sessions() as session:  # started before v1 was published, with the v1 folder's older content
        old = _gate(session, *runtime.v1, started_at=utcnow() - timedelta(hours=1))
    assert course.post("tom", f"/staff/gates/{course.runtime.gate}/publish",
                       {"against": "v1"}).status_code == 303
    refused = course.post("tom", f"/staff/gates/{old}/publish")
    text = text_of(refused.text)
    assert refused.status_code == 409
    assert (f"gate {old} is no longer current: toy version v2 was published by gate {runtime.gate} at" in text
            and "run the gate again" in text), text
    with runtime.sessions() as session:
        assert session.query(Assignment).filter_by(name="toy").one().current_version.version == "v2"
        assert session.get(GateRun, old).version_id is None


def test_changes_seen_against_another_version_are_not_published(course):
    refused = course.post("tom", f"/staff/gates/{course.runtime.gate}/publish", {"against": "v0"})
    assert refused.status_code == 409
    assert ("the changes you saw for gate" in text_of(refused.text)
            and "were against version v0, but toy version "
            "v1 is published now" in text_of(refused.text))
    with course.runtime.sessions() as session:
        with pytest.raises(ServiceError, match="no longer current|were against nothing published"):
            publish_gate(session, course.runtime, course.runtime.gate, None, against="none")


def _api(course, method: str, path: str, **kwargs):
    return getattr(course.client, method)(path, headers={"Authorization": f"Bearer {course.tokens['tom']}"},
                                          **kwargs)


def test_the_api_publishes_against_a_version_and_answers_with_the_regrade_offers(course):
    gate = course.runtime.gate
    # v1 is current
    assert _api(course, "post", "/api/assignments/toy/versions/v1/regrade").status_code == 409
    stale = _api(course, "post", f"/api/gates/{gate}/publish", json={"against": "none"})
    assert (stale.status_code == 409
            and "were against nothing published, but toy version v1 is published now"
            in stale.json()["error"])
    published = _api(course, "post", f"/api/gates/{gate}/publish", json={"against": "v1"})
    assert published.status_code == 200, published.text
    assert [(o["version"], o["submissions"], o["waiting"])
            for o in published.json()["regrade"]] == [("v1", 3, 1)]
    unknown = _api(course, "post", "/api/assignments/toy/versions/nope/regrade")
    assert unknown.status_code == 404 and "no version of toy 'nope'" in unknown.json()["error"]
    queued = _api(course, "post", "/api/assignments/toy/versions/v1/regrade").json()
    assert (queued["queued"], queued["count"]) == (course.runtime.old, 3)
    assert _api(course, "get", "/api/assignments/nope/versions/regrade").status_code == 404


def test_a_first_release_says_so(tmp_path, releases):
    _, _, _, v2 = releases
    runtime = make_runtime(tmp_path / "data", reference=TOY_REFERENCE)
    runtime.dispatcher = Parked(runtime)
    with runtime.sessions() as session:
        user, _ = add_user(session, "tom@course.edu", "ta")
        cookie = {"Cookie": f"beras_session={new_token(session, user, kind='session')}"}
        session.commit()
        gate = _gate(session, *v2)
    with TestClient(create_app(runtime, background=False)) as client:
        text = text_of(client.get(f"/staff/gates/{gate}", headers=cookie).text)
    assert "First release: nothing of this assignment is published yet." in text and "Tests added" not in text


def test_a_published_version_whose_folder_is_gone_still_lets_the_gate_publish(course, tmp_path):
    runtime = course.runtime
    copy = tmp_path / "gone" / "toy-autograder"
    shutil.copytree(runtime.v1[0], copy)
    (copy / "release.json").write_text('{"version": "v0"}')
    with runtime.sessions() as session:
        publish(session, runtime.blobs, copy, runtime.v1[1])
        gate = _gate(session, *runtime.v2)  # started after v0 was published: not overtaken
    shutil.rmtree(copy)
    text = text_of(course.get("tom", f"/staff/gates/{gate}").text)
    assert "The changes cannot be shown: the published version v0 of toy cannot be read" in text
    assert "publishing still works" in text and str(tmp_path) not in text
    with runtime.sessions() as session:
        lost = _gate(session, runtime.v2[0], tmp_path / "lost" / "toy-starter.zip")
    lost_text = text_of(course.get("tom", f"/staff/gates/{lost}").text)
    assert (f"gate {lost}'s starter zip is gone; run the gate again" in lost_text
            and str(tmp_path) not in lost_text)
    assert course.post("tom", f"/staff/gates/{gate}/publish", {"against": "v0"}).status_code == 303
