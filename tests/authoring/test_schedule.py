"""Opening dates: another assignment's solutions ship only once it has closed; dates and descriptions students
read."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.authoring import release as release_module
from grader.authoring.build import build_trees, owners
from grader.authoring.config import AssignmentConfigError, discover_assignments, load_assignment
from grader.authoring.release import release, student_readme
from grader.authoring.schedule import ReleaseOrderError, check_released_solutions, moment, readme_schedule
from grader.cli import app

ROOT = Path(__file__).resolve().parents[2]
TOY = Path(__file__).parent / "toy"
EST = timezone(timedelta(hours=-5))
# The owner "toy" is due 2026-12-11 23:59 -05:00 with 3 late days: it closes 2026-12-14 23:59 -05:00.
OWNER_SCHEDULE = ("[schedule]\ndue = 2026-12-11T23:59:00-05:00\nlate_penalty_per_day = 0.1\n"
                  "last_late_day = 3\n")
CLOSES = datetime(2026, 12, 14, 23, 59, tzinfo=EST)
BEFORE = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # "today", while the owner is open
NEXT = """name = "next"
title = "Next"
[files]
owned = ["extra.py"]
solutions_released = ["ops.py"]
[[points]]
group = "hidden"
tests = ["hidden_tests/*"]
points = 1
"""


def course(tmp_path: Path, owner_schedule: str | None = OWNER_SCHEDULE, next_schedule: str = "") -> Path:
    """A copy of the toy course with a second assignment, ``next``, that ships toy's solution of ops.py."""
    root = tmp_path / "course"
    shutil.copytree(TOY, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "reference" / "beras" / "extra.py").write_text(
        '"""Extra."""\n\n\ndef triple(x):\n    """3x."""\n    # BEGIN SOLUTION\n    return 3 * x\n'
        '    # END SOLUTION\n')
    toy = root / "assignments" / "toy" / "assignment.toml"
    if owner_schedule:
        toy.write_text(toy.read_text() + owner_schedule)
    nxt = root / "assignments" / "next"
    (nxt / "public_tests").mkdir(parents=True)
    (nxt / "hidden_tests").mkdir()
    (nxt / "hidden_tests" / "test_extra.py").write_text("def test_triple(student):\n    assert True\n")
    (nxt / "assignment.toml").write_text(NEXT + next_schedule)
    return root


def load_next(root: Path):
    return load_assignment(root / "assignments" / "next", reference_root=root / "reference" / "beras")


# ---- the config keys ---------------------------------------------------------------------------------------

def test_opens_keeps_the_offset_the_author_wrote(tmp_path: Path) -> None:
    root = course(tmp_path, next_schedule="[schedule]\nopens = 2026-12-15T00:00:00-05:00\n"
                                          "due = 2027-01-04T23:59:00-05:00\n")
    schedule = load_next(root).schedule
    assert schedule.opens == datetime(2026, 12, 15, tzinfo=EST)
    assert (schedule.opens.utcoffset() == timedelta(hours=-5)
            and schedule.due.utcoffset() == timedelta(hours=-5))
    assert not schedule.is_open_at(datetime(2026, 12, 15, 4, 59, tzinfo=UTC))
    assert schedule.is_open_at(datetime(2026, 12, 15, 5, 0, tzinfo=UTC))


def test_opens_on_or_after_due_is_refused_naming_both(tmp_path: Path) -> None:
    root = course(tmp_path, next_schedule="[schedule]\nopens = 2027-01-05T00:00:00-05:00\n"
                                          "due = 2027-01-04T23:59:00-05:00\n")
    with pytest.raises(AssignmentConfigError) as caught:
        load_next(root)
    assert caught.value.problems == [
        f"{root / 'assignments/next/assignment.toml'}: schedule: opens (2027-01-05T00:00:00-05:00) must be "
        "before due (2027-01-04T23:59:00-05:00): students need the time between them to do the work"]


def test_opens_without_an_offset_is_refused(tmp_path: Path) -> None:
    root = course(tmp_path,
                  next_schedule="[schedule]\nopens = 2026-12-15T00:00:00\ndue = 2027-01-04T23:59:00Z\n")
    with pytest.raises(AssignmentConfigError) as caught:
        load_next(root)
    assert "schedule.opens: expected a date-time with a UTC offset" in str(caught.value)


def test_a_blank_description_is_refused(tmp_path: Path) -> None:
    root = course(tmp_path)
    toml = root / "assignments" / "next" / "assignment.toml"
    toml.write_text(toml.read_text().replace('title = "Next"\n', 'title = "Next"\ndescription = "  "\n'))
    with pytest.raises(AssignmentConfigError) as caught:
        load_next(root)
    assert "description: expected a non-empty string" in str(caught.value)


# ---- dates as students read them ---------------------------------------------------------------------------

def test_a_moment_shows_the_authors_offset_and_utc() -> None:
    assert (moment(datetime(2027, 2, 8, 23, 59, tzinfo=EST))
            == "2027-02-08 23:59 (UTC-05:00) · 2027-02-09 04:59 UTC")
    assert moment(datetime(2027, 2, 8, 23, 59, tzinfo=timezone(timedelta(hours=5, minutes=30)))) == \
        "2027-02-08 23:59 (UTC+05:30) · 2027-02-08 18:29 UTC"
    assert moment(datetime(2027, 2, 9, 4, 59, tzinfo=UTC)) == "2027-02-09 04:59 UTC"


def test_the_readme_schedule_gives_opening_due_and_close_in_both_zones(tmp_path: Path) -> None:
    root = course(tmp_path, next_schedule="[schedule]\nopens = 2026-12-15T00:00:00-05:00\n"
                                          "due = 2027-01-04T23:59:00-05:00\nlast_late_day = 2\n"
                                          "late_penalty_per_day = 0.25\n")
    text = readme_schedule(load_next(root).schedule)
    assert text == ("Opens 2026-12-15 00:00 (UTC-05:00) · 2026-12-15 05:00 UTC. "
                    "Due 2027-01-04 23:59 (UTC-05:00) · 2027-01-05 04:59 UTC. Late submissions lose 25% of "
                    "their score per day and are accepted for 2 day(s) after the due date, until 2027-01-06 "
                    "23:59 (UTC-05:00) · 2027-01-07 04:59 UTC.")
    assert readme_schedule(None) == ""


def _readme(assignment) -> str:
    trees = build_trees(assignment, assignment.root.parents[1] / "reference" / "beras",
                        owners(assignment.root.parent, assignment.root.parents[1] / "reference" / "beras"))
    template = resources.files("grader.authoring").joinpath("templates", "README.md").read_text()
    return student_readme(assignment, trees, {}, template)


def test_the_description_replaces_the_readmes_fixed_text(tmp_path: Path) -> None:
    root = course(tmp_path)
    toml = root / "assignments" / "next" / "assignment.toml"
    assert "check every function above on random shapes" in _readme(load_next(root))
    toml.write_text(toml.read_text().replace(
        'title = "Next"\n',
        'title = "Next"\ndescription = """\nYou write **Dropout**: scale by `1/(1-rate)`.\n"""\n'))
    readme = _readme(load_next(root))
    assert "You write **Dropout**: scale by `1/(1-rate)`." in readme
    assert "random shapes" not in readme


# ---- solutions_released of an open assignment --------------------------------------------------------------

def test_shipping_an_open_assignments_solutions_is_refused_naming_owner_close_and_fix(tmp_path: Path) -> None:
    root = course(tmp_path)
    with pytest.raises(ReleaseOrderError) as caught:
        check_released_solutions(load_next(root), root / "reference" / "beras", now=BEFORE)
    assert isinstance(caught.value, AssignmentConfigError)  # the CLI and the service report it as one
    assert caught.value.problems == [
        "next/assignment.toml: files.solutions_released: ops.py are toy's solutions, and toy is still open "
        "when students get this starter as soon as it is published (2026-12-05 12:00 UTC): toy closes "
        "2026-12-14 23:59 (UTC-05:00) · 2026-12-15 04:59 UTC (due 2026-12-11T23:59:00-05:00 plus 3 late "
        "day(s)). Set [schedule] opens = 2026-12-14T23:59:00-05:00 or later in next/assignment.toml, or drop "
        "ops.py from files.solutions_released"]


def test_an_opening_before_the_owners_close_is_refused(tmp_path: Path) -> None:
    root = course(tmp_path, next_schedule="[schedule]\nopens = 2026-12-14T12:00:00-05:00\n"
                                          "due = 2027-01-04T23:59:00-05:00\n")
    with pytest.raises(ReleaseOrderError,
                       match=r"toy is still open when next opens 2026-12-14 12:00 \(UTC-05:00\)"):
        check_released_solutions(load_next(root), root / "reference" / "beras", now=BEFORE)


@pytest.mark.parametrize("opens", ["2026-12-14T23:59:00-05:00", "2026-12-15T00:00:00-05:00"])
def test_an_opening_at_or_after_the_owners_close_is_accepted(tmp_path: Path, opens: str) -> None:
    root = course(tmp_path, next_schedule=f"[schedule]\nopens = {opens}\ndue = 2027-01-04T23:59:00-05:00\n")
    check_released_solutions(load_next(root), root / "reference" / "beras", now=BEFORE)


def test_a_release_after_the_owner_closed_is_accepted_without_opens(tmp_path: Path) -> None:
    root = course(tmp_path)
    check_released_solutions(load_next(root), root / "reference" / "beras", now=CLOSES + timedelta(minutes=1))
    with pytest.raises(ReleaseOrderError):
        check_released_solutions(load_next(root), root / "reference" / "beras",
                                 now=CLOSES - timedelta(minutes=1))


def test_an_owner_without_a_schedule_counts_as_open_for_ever(tmp_path: Path) -> None:
    root = course(tmp_path, owner_schedule=None, next_schedule="[schedule]\nopens = 2030-01-01T00:00:00Z\n"
                                                               "due = 2030-02-01T00:00:00Z\n")
    with pytest.raises(ReleaseOrderError) as caught:
        check_released_solutions(load_next(root), root / "reference" / "beras", now=BEFORE)
    assert ("toy has no [schedule], so it is open for ever and its solutions never ship; give toy a "
            "[schedule] due date and set [schedule] opens of next on or after its close, or drop ops.py"
            in str(caught.value))


def test_release_refuses_before_the_gate_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = course(tmp_path)

    def no_gate(*args, **kwargs):
        raise AssertionError("the gate ran")

    monkeypatch.setattr(release_module, "run_gate", no_gate)
    with pytest.raises(ReleaseOrderError, match="toy is still open"):
        release(root / "assignments" / "next", tmp_path / "out",
                reference_package=root / "reference" / "beras",
                now=BEFORE)
    assert not (tmp_path / "out").exists()


def test_the_cli_prints_the_refusal_and_exits_2(tmp_path: Path) -> None:
    root = course(tmp_path, owner_schedule="[schedule]\ndue = 2999-01-01T00:00:00-05:00\n")
    result = CliRunner().invoke(app, ["release", "next", "--out", str(tmp_path / "out"), "--assignments-dir",
                                      str(root / "assignments"), "--reference",
                                      str(root / "reference" / "beras")])
    assert result.exit_code == 2, result.output
    assert "ops.py are toy's solutions, and toy is still open" in result.output
    assert "toy closes 2999-01-01 00:00 (UTC-05:00) · 2999-01-01 05:00 UTC" in result.output
    assert "Traceback" not in result.output


# ---- the shipped course ------------------------------------------------------------------------------------

COURSE = ROOT / "assignments"
TODAY = datetime(2026, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize("name", sorted(discover_assignments(COURSE)))
def test_the_shipped_schedule_lets_every_assignment_release_today(name: str) -> None:
    check_released_solutions(load_assignment(COURSE / name, reference_root=ROOT / "reference" / "beras"),
                             ROOT / "reference" / "beras", now=TODAY)


def test_beras_cnn_opens_after_beras_mlp_closes() -> None:
    mlp = load_assignment(COURSE / "beras-mlp").schedule
    cnn = load_assignment(COURSE / "beras-cnn", reference_root=ROOT / "reference" / "beras")
    assert cnn.schedule.opens >= mlp.closes_at
    # Without its opening date the same file would be refused today: the check guards the shipped course.
    unopened = cnn.model_copy(update={"schedule": cnn.schedule.model_copy(update={"opens": None})})
    with pytest.raises(ReleaseOrderError, match="beras-mlp is still open"):
        check_released_solutions(unopened, ROOT / "reference" / "beras", now=TODAY)
