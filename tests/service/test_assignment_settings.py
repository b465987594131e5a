"""Editing an assignment's settings from a form, and creating and listing assignment folders."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.authoring.config import AssignmentConfigError, Queue, load_assignment
from grader.service import assignment_folders
from grader.service.assignment_settings import (
    EDITABLE,
    SavedSettings,
    create_assignment,
    list_assignment_folders,
    read_settings,
    save_settings,
)
from grader.service.errors import ServiceError
from grader.settings import Settings
from tests.grading.conftest import ASSIGNMENTS, REFERENCE

EST = timezone(timedelta(hours=-5))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The repository's assignments, copied so that saves and creations touch only the copy."""
    folder = tmp_path / "assignments"
    shutil.copytree(ASSIGNMENTS, folder, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return Settings(data_dir=tmp_path / "data", assignments_dir=folder, reference=REFERENCE)


def toml(settings: Settings, name: str) -> Path:
    return settings.assignments_dir / name / "assignment.toml"


def comments(text: str) -> list[str]:
    """Every comment in a file, whole-line or after a value (these files have no '#' inside strings)."""
    return [line[line.index("#"):] for line in text.splitlines() if "#" in line]


def listing(folder: Path) -> list[str]:
    """Every path under ``folder``, caches left out (the repository's own folders may hold some)."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                  if not {"__pycache__", ".pytest_cache"} & set(path.parts))


def refused(call, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call(*args, **kwargs)
    return caught.value


# ---- the description a form renders ------------------------------------------------------------------------

def test_editable_lists_the_settings_in_order_with_kinds_and_defaults():
    assert [field.key for field in EDITABLE] == [
        "title", "queue", "schedule.opens", "schedule.due", "schedule.late_penalty_per_day",
        "schedule.last_late_day", "submissions.rate_limit_count", "submissions.rate_limit_window_minutes",
        "limits.wall_time_s",
        "limits.call_time_s", "limits.call_time_factor", "limits.call_time_floor_s",
        "limits.call_time_repeat_floor_s", "limits.memory_mb", "limits.cpus", "limits.pids",
        "limits.output_kb"]
    fields = {field.key: field for field in EDITABLE}
    assert fields["queue"].kind == "choice" and fields["queue"].choices == ("cpu", "gpu")
    assert fields["schedule.due"].kind == "datetime" and fields["schedule.opens"].kind == "datetime"
    assert fields["schedule.late_penalty_per_day"].kind == "float"
    assert fields["limits.memory_mb"].kind == "int"
    # Defaults come from the schema, as form strings; required keys have none.
    assert fields["limits.memory_mb"].default == "2048"
    assert fields["submissions.rate_limit_window_minutes"].default == "60"
    assert fields["title"].default == "" and fields["schedule.due"].default == ""
    assert all(field.label and field.help for field in EDITABLE)
    assert all(field.choices == () for field in EDITABLE if field.kind != "choice")


# ---- reading -----------------------------------------------------------------------------------------------

def test_read_returns_the_values_in_the_file(settings):
    values = read_settings(settings, "beras-cnn")
    assert list(values) == [field.key for field in EDITABLE]
    assert values == {
        "title": "Beras 2: Convolutions (Conv2D, MaxPool2D, Flatten)", "queue": "cpu",
        "schedule.opens": "2026-12-15T00:00:00-05:00", "schedule.due": "2027-01-15T23:59:00-05:00",
        "schedule.late_penalty_per_day": "0.1",
        "schedule.last_late_day": "3", "submissions.rate_limit_count": "10",
        "submissions.rate_limit_window_minutes": "60", "limits.wall_time_s": "900",
        "limits.call_time_s": "120", "limits.call_time_factor": "50.0", "limits.call_time_floor_s": "2.0",
        "limits.call_time_repeat_floor_s": "0.5", "limits.memory_mb": "4096", "limits.cpus": "2",
        "limits.pids": "256",
        "limits.output_kb": "1024"}


def test_read_gives_schema_defaults_for_keys_left_out_and_blanks_without_a_schedule(settings):
    file = toml(settings, "beras-mlp")
    text = file.read_text()
    text = text.replace("memory_mb = 2048\n", "").replace('queue = "cpu"\n', "")
    text = re.sub(r"\[schedule\]\n(.+\n)+\n", "", text)
    text = re.sub(r"\[submissions\]\n(.+\n)+", "", text)
    file.write_text(text)
    load_assignment(file, reference_root=REFERENCE)  # still valid: every key removed has a default
    values = read_settings(settings, "beras-mlp")
    assert values["limits.memory_mb"] == "2048" and values["queue"] == "cpu"
    assert values["submissions.rate_limit_count"] == "10"
    assert values["submissions.rate_limit_window_minutes"] == "60"
    assert values["limits.call_time_s"] == "60"  # still in the file
    schedule = ("schedule.due", "schedule.late_penalty_per_day", "schedule.last_late_day")
    assert [values[key] for key in schedule] == ["", "", ""]


def test_read_shows_a_wrong_value_as_written_so_it_can_be_fixed(settings):
    file = toml(settings, "beras-mlp")
    file.write_text(file.read_text().replace("memory_mb = 2048", 'memory_mb = "lots"'))
    assert read_settings(settings, "beras-mlp")["limits.memory_mb"] == "lots"
    saved = save_settings(settings, "beras-mlp", {"limits.memory_mb": "3072"})
    assert saved.changed == [("limits.memory_mb", "lots", "3072")]
    assert load_assignment(file, reference_root=REFERENCE).limits.memory_mb == 3072


@pytest.mark.parametrize("name", ["../x", "../../etc", "beras-mlp/..", "a/b", "Beras-MLP", "", ".hidden",
                                  "-x", "beras mlp"])
def test_invalid_names_are_refused_before_touching_the_disk(settings, name):
    # A folder beside the assignments folder: "../x" must not reach it.
    outside = settings.assignments_dir.parent / "x"
    outside.mkdir()
    shutil.copy(toml(settings, "beras-mlp"), outside / "assignment.toml")
    before = (outside / "assignment.toml").read_bytes()
    assert refused(read_settings, settings, name).status == 400
    error = refused(save_settings, settings, name, {"title": "hijacked"})
    assert error.status == 400 and "is not an assignment name" in error.message
    assert (outside / "assignment.toml").read_bytes() == before


def test_unknown_assignment_is_404(settings):
    error = refused(read_settings, settings, "beras-rnn")
    assert error.status == 404 and "beras-rnn" in error.message
    assert refused(save_settings, settings, "beras-rnn", {}).status == 404
    (settings.assignments_dir / "no-toml").mkdir()
    assert refused(read_settings, settings, "no-toml").status == 404


# ---- saving ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["beras-mlp", "beras-cnn"])
def test_save_changes_due_penalty_and_rate_limit_and_keeps_every_comment(settings, name):
    file = toml(settings, name)
    original = file.read_text()
    values = read_settings(settings, name)
    values.update({"schedule.due": "2027-02-01T17:00:00-05:00", "schedule.late_penalty_per_day": "0.25",
                   "submissions.rate_limit_count": "5"})

    saved = save_settings(settings, name, values)

    assert saved == SavedSettings([
        ("schedule.due", original_due(original), "2027-02-01T17:00:00-05:00"),
        ("schedule.late_penalty_per_day", "0.1", "0.25"),
        ("submissions.rate_limit_count", "10", "5")])
    text = file.read_text()
    assert comments(text) == comments(original) and comments(original)
    # Only the three lines changed; everything else is as it was, line for line.
    changed = [(old, new) for old, new in zip(original.splitlines(), text.splitlines()) if old != new]
    assert len(text.splitlines()) == len(original.splitlines())
    assert [new for _, new in changed] == ["due = 2027-02-01T17:00:00-05:00", "late_penalty_per_day = 0.25",
                                           "rate_limit_count = 5"]
    assignment = load_assignment(file, reference_root=REFERENCE)
    assert assignment.schedule.due == datetime(2027, 2, 1, 17, 0, tzinfo=EST)
    assert assignment.schedule.late_penalty_per_day == 0.25
    assert assignment.submissions.rate_limit_count == 5
    assert read_settings(settings, name) == values
    assert listing(file.parent) == listing(ASSIGNMENTS / name)  # no temporary file left


def original_due(text: str) -> str:
    return datetime.fromisoformat(re.search(r"^due = (.+)$", text, re.MULTILINE)[1]).isoformat()


def test_save_changes_title_queue_and_limits(settings):
    file = toml(settings, "beras-cnn")
    saved = save_settings(settings, "beras-cnn", {"title": "  Beras 2: CNNs  ", "queue": "gpu",
                                                  "limits.cpus": "3.5", "limits.wall_time_s": "1200",
                                                  "limits.output_kb": ""})
    assert saved.changed == [("title", "Beras 2: Convolutions (Conv2D, MaxPool2D, Flatten)", "Beras 2: CNNs"),
                             ("queue", "cpu", "gpu"), ("limits.wall_time_s", "900", "1200"),
                             ("limits.cpus", "2", "3.5")]
    assert saved.problems == []
    assignment = load_assignment(file, reference_root=REFERENCE)
    assert (assignment.title, assignment.queue) == ("Beras 2: CNNs", Queue.GPU)
    assert (assignment.limits.cpus, assignment.limits.wall_time_s) == (3.5, 1200)
    # The inline comment on the line after queue survives; whole numbers are written as the file has them.
    text = file.read_text()
    assert 'gpu_variant = "optional"  # the same suite may run on the gpu queue under CuPy' in text
    assert "wall_time_s = 1200\n" in text and "cpus = 3.5\n" in text


def test_round_trip_without_a_change_writes_nothing(settings):
    file = toml(settings, "beras-mlp")
    before, stamp = file.read_bytes(), file.stat().st_mtime_ns
    assert save_settings(settings, "beras-mlp", read_settings(settings, "beras-mlp")) == SavedSettings([])
    # The same values spelt differently are no change either.
    same = {"limits.wall_time_s": "600.0", "submissions.rate_limit_count": " 10 ", "limits.memory_mb": "",
            "schedule.due": "2026-12-11T23:59-05:00", "queue": "cpu"}
    assert save_settings(settings, "beras-mlp", same).changed == []
    assert save_settings(settings, "beras-mlp", {}).changed == []
    assert file.read_bytes() == before and file.stat().st_mtime_ns == stamp
    assert listing(file.parent) == listing(ASSIGNMENTS / "beras-mlp")


def test_a_save_keeps_the_files_permissions(settings):
    file = toml(settings, "beras-mlp")
    file.chmod(0o640)
    save_settings(settings, "beras-mlp", {"limits.pids": "300"})
    assert file.stat().st_mode & 0o777 == 0o640
    assert load_assignment(file, reference_root=REFERENCE).limits.pids == 300


def test_the_same_instant_in_another_offset_is_a_change(settings):
    saved = save_settings(settings, "beras-mlp", {"schedule.due": "2026-12-12T04:59:00Z"})
    assert saved.changed == [("schedule.due", "2026-12-11T23:59:00-05:00", "2026-12-12T04:59:00+00:00")]


def test_invalid_values_are_all_reported_and_the_file_is_untouched(settings):
    file = toml(settings, "beras-mlp")
    before, stamp = file.read_bytes(), file.stat().st_mtime_ns
    values = read_settings(settings, "beras-mlp")
    values.update({"schedule.late_penalty_per_day": "1.5", "schedule.due": "2026-12-11T23:59:00",
                   "limits.memory_mb": "lots", "queue": "tpu", "submissions.rate_limit_count": "ten",
                   "nonsense": "1"})

    error = refused(save_settings, settings, "beras-mlp", values)

    assert error.status == 422
    assert error.message.startswith("the settings were not saved: ")
    problems = error.detail["problems"]
    assert problems[0].startswith("unknown setting 'nonsense'; expected some of: title, queue, "
                                  "schedule.opens, schedule.due")
    assert problems[1:] == [
        "Queue: 'tpu' is not one of 'cpu', 'gpu'",
        ("Due date: '2026-12-11T23:59:00' has no time zone offset, so it does not say which time zone is "
        "meant; expected e.g. 2026-12-11T23:59:00-05:00 (or Z for UTC)"),
        "Late penalty per day: expected a number between 0 and 1, received 1.5",
        "Submissions per window: 'ten' is not a whole number; expected e.g. 10",
        "Memory (MB): 'lots' is not a whole number; expected e.g. 2048"]
    assert error.detail["fields"] == {
        "queue": [problems[1]], "schedule.due": [problems[2]], "schedule.late_penalty_per_day": [problems[3]],
        "submissions.rate_limit_count": [problems[4]], "limits.memory_mb": [problems[5]]}
    assert all(problem in error.message for problem in problems)
    assert file.read_bytes() == before and file.stat().st_mtime_ns == stamp
    assert listing(file.parent) == listing(ASSIGNMENTS / "beras-mlp")  # no temporary file left


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("schedule.due", "2026-13-01", ("Due date: '2026-13-01' is not a date and time; "
                                   "expected e.g. 2026-12-11T23:59:00-05:00")),
    ("schedule.due", "next friday", ("Due date: 'next friday' is not a date and time; "
                                    "expected e.g. 2026-12-11T23:59:00-05:00")),
    ("schedule.due", "2026-12-11", "Due date: '2026-12-11' has no time zone offset"),
    ("schedule.last_late_day", "-1", "Last late day: expected an integer between 0 and 365, received -1"),
    ("schedule.last_late_day", "2.5", "Last late day: '2.5' is not a whole number; expected e.g. 0"),
    ("limits.memory_mb", "0", "Memory (MB): expected an integer between 1 and 1048576, received 0"),
    ("limits.pids", "true", "Processes: 'true' is not a whole number"),
    ("limits.call_time_s", "nan", "Call time (s): 'nan' is not a number; expected e.g. 30"),
    ("limits.cpus", "-2", "CPUs: expected a number > 0 and <= 1024, received -2"),
    ("title", "   ", "Title: is empty"),
    # Digits of other scripts, signs twice, and numbers too large to be meant (they would overflow later).
    ("schedule.last_late_day", "\u00b2", "Last late day: '\u00b2' is not a whole number; expected e.g. 0"),
    ("schedule.last_late_day", "\u0663", "Last late day: '\u0663' is not a whole number; expected e.g. 0"),
    ("limits.pids", "--5", "Processes: '--5' is not a whole number; expected e.g. 256"),
    ("schedule.last_late_day", "99999999999999999999",
     "Last late day: expected an integer between 0 and 365, received 99999999999999999999"),
    ("submissions.rate_limit_window_minutes", "99999999999999999999",
     "Rate-limit window (minutes): expected an integer between 1 and 525600, received 99999999999999999999"),
    ("limits.memory_mb", "9" * 5000, "Memory (MB): '99999999"),
    ("limits.wall_time_s", "1e308", "Wall time (s): expected a number > 0 and <= 86400, received 1e+308"),
    ("title", "T" * 301, "Title: expected a string of at most 300 characters"),
])
def test_one_invalid_value_names_its_setting(settings, key, value, problem):
    file = toml(settings, "beras-mlp")
    before = file.read_bytes()
    error = refused(save_settings, settings, "beras-mlp", {key: value})
    assert error.status == 422
    assert len(error.detail["problems"]) == 1 and error.detail["problems"][0].startswith(problem)
    assert len(error.detail["problems"][0]) < 300  # a long value is quoted cut short
    assert list(error.detail["fields"]) == [key]
    assert file.read_bytes() == before
    assert listing(file.parent) == listing(ASSIGNMENTS / "beras-mlp")


def test_the_opening_date_is_edited_like_the_due_date(settings):
    file = toml(settings, "beras-mlp")
    values = read_settings(settings, "beras-mlp")
    assert values["schedule.opens"] == ""

    saved = save_settings(settings, "beras-mlp", {**values, "schedule.opens": "2026-11-20T09:00:00-05:00"})

    assert saved.changed == [("schedule.opens", "", "2026-11-20T09:00:00-05:00")]
    assert "opens = 2026-11-20T09:00:00-05:00\n" in file.read_text()
    opens = load_assignment(file, reference_root=REFERENCE).schedule.opens
    assert opens == datetime(2026, 11, 20, 9, 0, tzinfo=EST) and opens.utcoffset() == EST.utcoffset(None)
    # After the due date: refused, the file untouched.
    before = file.read_text()
    error = refused(save_settings, settings, "beras-mlp", {"schedule.opens": "2026-12-12T00:00:00-05:00"})
    assert "opens (2026-12-12T00:00:00-05:00) must be before due (2026-12-11T23:59:00-05:00)" in error.message
    assert file.read_text() == before
    # Empty: the key goes, the rest of the table stays.
    saved = save_settings(settings, "beras-mlp", {"schedule.opens": ""})
    assert saved.changed == [("schedule.opens", "2026-11-20T09:00:00-05:00", "")]
    assert "opens" not in file.read_text()
    assert load_assignment(file, reference_root=REFERENCE).schedule.due == datetime(2026, 12, 11, 23, 59,
                                                                                    tzinfo=EST)


def test_an_empty_due_date_removes_the_schedule_and_a_new_one_adds_it(settings):
    file = toml(settings, "beras-mlp")
    original = file.read_text()
    values = read_settings(settings, "beras-mlp")

    saved = save_settings(settings, "beras-mlp", {**values, "schedule.due": ""})

    assert saved.changed == [("schedule.due", "2026-12-11T23:59:00-05:00", ""),
                             ("schedule.late_penalty_per_day", "0.1", ""),
                             ("schedule.last_late_day", "3", "")]
    text = file.read_text()
    assert "[schedule]" not in text and "late_penalty_per_day" not in text
    assert comments(text) == comments(original)
    assert load_assignment(file, reference_root=REFERENCE).schedule is None

    # A late policy without a due date is refused, not dropped.
    error = refused(save_settings, settings, "beras-mlp", {"schedule.late_penalty_per_day": "0.2"})
    assert error.detail["problems"] == [
        "Late penalty per day: applies only with a due date; set the due date too, or leave this empty"]
    assert file.read_text() == text

    saved = save_settings(settings, "beras-mlp", {"schedule.due": "2027-01-08T12:00:00+01:00",
                                                  "schedule.last_late_day": "2"})
    assert saved.changed == [("schedule.due", "", "2027-01-08T12:00:00+01:00"),
                             ("schedule.late_penalty_per_day", "", "0.0"),
                             ("schedule.last_late_day", "", "2")]
    schedule = load_assignment(file, reference_root=REFERENCE).schedule
    assert schedule.due == datetime(2027, 1, 8, 11, 0, tzinfo=UTC)
    assert (schedule.late_penalty_per_day, schedule.last_late_day) == (0.0, 2)
    assert "[schedule]\ndue = 2027-01-08T12:00:00+01:00\nlate_penalty_per_day = 0.0\nlast_late_day = 2\n" \
        in file.read_text()


def test_a_change_that_breaks_another_rule_is_refused(settings):
    file = toml(settings, "beras-mlp")
    file.write_text(file.read_text().replace("points = 12\nvisibility", "points = -12\nvisibility", 1))
    with pytest.raises(AssignmentConfigError):
        load_assignment(file, reference_root=REFERENCE)
    before = file.read_bytes()
    # The file's own problem does not stop an otherwise valid save; it is reported back.
    saved = save_settings(settings, "beras-mlp", {"limits.pids": "512"})
    assert saved.changed == [("limits.pids", "256", "512")]
    assert saved.problems == ["assignment.toml: points[1].points: expected a number >= 0, received -12"]
    assert file.read_bytes() == before.replace(b"pids = 256", b"pids = 512")
    # A new problem still is refused.
    error = refused(save_settings, settings, "beras-mlp", {"limits.pids": "0"})
    assert error.detail["problems"] == ["Processes: expected an integer between 1 and 4194304, received 0"]


def test_a_file_that_is_not_toml_is_reported_not_overwritten(settings):
    file = toml(settings, "beras-mlp")
    file.write_text(file.read_text() + "\n[limits\n")
    before = file.read_bytes()
    assert refused(read_settings, settings, "beras-mlp").status == 422
    error = refused(save_settings, settings, "beras-mlp", {"title": "x"})
    assert error.status == 422 and "not TOML" in error.detail["problems"][0]
    assert file.read_bytes() == before


# ---- creating ----------------------------------------------------------------------------------------------

def test_create_by_copy_gives_a_valid_assignment_with_the_new_name(settings):
    source = settings.assignments_dir / "beras-mlp"
    (source / "hidden_tests" / "__pycache__").mkdir()
    (source / "hidden_tests" / "__pycache__" / "test_dense.cpython-311.pyc").write_bytes(b"\0")

    folder = create_assignment(settings, "beras-mlp-2027", "Beras 1 (2027)", copy_from="beras-mlp")

    assert folder == settings.assignments_dir / "beras-mlp-2027"
    assignment = load_assignment(folder, reference_root=REFERENCE)
    assert (assignment.name, assignment.title) == ("beras-mlp-2027", "Beras 1 (2027)")
    original = load_assignment(source, reference_root=REFERENCE)
    assert assignment.points == original.points and assignment.schedule == original.schedule
    assert not list(folder.rglob("__pycache__")) and not list(folder.rglob("*.pyc"))
    assert listing(folder) == listing(source)
    for test in (source / "hidden_tests").glob("*.py"):
        assert (folder / "hidden_tests" / test.name).read_bytes() == test.read_bytes()
    copied, original_text = (folder / "assignment.toml").read_text(), (source / "assignment.toml").read_text()
    assert comments(copied) == comments(original_text)
    assert read_settings(settings, "beras-mlp-2027")["title"] == "Beras 1 (2027)"


def test_create_a_scaffold_whose_only_problem_is_the_owned_files_to_choose(settings):
    folder = create_assignment(settings, "beras-rnn", 'Beras 3: "recurrent" layers')

    assert (folder / "public_tests").is_dir() and (folder / "hidden_tests").is_dir()
    assert (folder / "public_tests" / "README.md").read_text().startswith("# Public tests")
    assert (folder / "hidden_tests" / "README.md").read_text().startswith("# Hidden tests")
    with pytest.raises(AssignmentConfigError) as caught:
        load_assignment(folder, reference_root=REFERENCE)
    (problem,) = caught.value.problems
    assert "files.owned: expected a non-empty list" in problem
    values = read_settings(settings, "beras-rnn")
    assert values["title"] == 'Beras 3: "recurrent" layers'
    assert (values["queue"], values["schedule.due"]) == ("cpu", "")

    # The draft's settings can be edited before it is finished; its open problem comes back with the save.
    saved = save_settings(settings, "beras-rnn", {"schedule.due": "2027-03-01T23:59:00-05:00"})
    assert saved.changed[0] == ("schedule.due", "", "2027-03-01T23:59:00-05:00")
    assert len(saved.problems) == 1 and "files.owned" in saved.problems[0]

    # Filling in the owned file is all it takes to make it valid.
    file = folder / "assignment.toml"
    file.write_text(file.read_text().replace("owned = []", 'owned = ["layers/dense.py"]'))
    assignment = load_assignment(folder, reference_root=REFERENCE)
    assert (assignment.name, assignment.title) == ("beras-rnn", 'Beras 3: "recurrent" layers')
    assert assignment.schedule.due == datetime(2027, 3, 1, 23, 59, tzinfo=EST)


def test_create_refuses_conflicts_bad_names_blank_titles_and_unknown_sources(settings):
    before = listing(settings.assignments_dir)
    assert refused(create_assignment, settings, "beras-mlp", "Again").status == 409
    assert refused(create_assignment, settings, "beras-mlp", "Again", copy_from="beras-cnn").status == 409
    for name in ("../x", "../../tmp/x", "Beras", "a/b", "", "-x", "with_underscore", ".hidden"):
        error = refused(create_assignment, settings, name, "Title")
        assert error.status == 400 and "cannot name a new assignment" in error.message, name
    for title in ("", "   "):
        assert refused(create_assignment, settings, "beras-new", title).status == 400
    error = refused(create_assignment, settings, "beras-new", "New", copy_from="beras-rnn")
    assert error.status == 404 and "beras-rnn" in error.message
    assert refused(create_assignment, settings, "beras-new", "New", copy_from="../beras-mlp").status == 400
    assert listing(settings.assignments_dir) == before
    assert not (settings.assignments_dir.parent / "x").exists()

    # A folder without an assignment.toml is in the way too.
    (settings.assignments_dir / "notes").mkdir()
    assert refused(create_assignment, settings, "notes", "Notes").status == 409


def test_a_failed_create_leaves_nothing_behind(settings, monkeypatch):
    before = listing(settings.assignments_dir)

    def copy_fails(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(assignment_folders.shutil, "copytree", copy_fails)
    with pytest.raises(OSError):
        create_assignment(settings, "beras-new", "New", copy_from="beras-mlp")
    assert listing(settings.assignments_dir) == before


# ---- listing -----------------------------------------------------------------------------------------------

def test_list_shows_released_and_draft_folders_with_their_problems(settings):
    create_assignment(settings, "beras-rnn", "Beras 3: RNNs")
    broken = settings.assignments_dir / "broken"
    broken.mkdir()
    (broken / "assignment.toml").write_text('title = "Half done"\n[limits\n')
    (settings.assignments_dir / "not-an-assignment").mkdir()

    listed = {entry["name"]: entry for entry in list_assignment_folders(settings)}

    assert list(listed) == ["beras-cnn", "beras-dropout", "beras-mlp", "beras-rnn", "broken"]
    assert listed["beras-mlp"] == {"name": "beras-mlp",
                                   "title": "Beras 1: a multilayer perceptron from scratch",
                                   "path": "assignments/beras-mlp", "valid": True,  # no server path
                                   "problems": []}
    assert listed["beras-rnn"]["valid"] is False and listed["beras-rnn"]["title"] == "Beras 3: RNNs"
    assert len(listed["beras-rnn"]["problems"]) == 1 and "files.owned" in listed["beras-rnn"]["problems"][0]
    assert listed["broken"]["valid"] is False and listed["broken"]["title"] == ""
    assert "TOML syntax error" in listed["broken"]["problems"][0]
    assert listed["broken"]["problems"][0].startswith("assignments/broken/assignment.toml: ")
    assert str(settings.assignments_dir) not in str(listed)


def test_list_without_an_assignments_folder_is_empty(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", assignments_dir=tmp_path / "none", reference=REFERENCE)
    assert list_assignment_folders(settings) == []
