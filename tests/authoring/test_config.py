"""assignment.toml: parsing, defaults, the wording of every error, and points per test id."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

import beras
from grader.authoring.config import (
    Assignment,
    AssignmentConfigError,
    GpuVariant,
    Limits,
    PointsError,
    PointsGroup,
    Queue,
    Schedule,
    Visibility,
    assign_points,
    discover_assignments,
    load_assignment,
)

REFERENCE = Path(beras.__file__).parent

FULL = """
name = "beras-mlp"
title = "Beras I: layers and a multilayer perceptron"
queue = "gpu"
gpu_variant = "optional"
free_points = 2

[files]
owned = ["layers/dense.py", "activations.py"]
complete = ["**/*.py", "layers/__init__.py"]
solutions_released = ["losses.py"]

[tests]
public = "pub"
hidden = "hid"

[[points]]
group = "Dense layer"
tests = ["hid/test_dense.py::*"]
points = 10

[[points]]
group = "Activations"
tests = ["hid/test_activations.py::test_relu*", "hid/test_activations.py::test_sigmoid?"]
points_each = 1.5
visibility = "hidden"

[[points]]
group = "Public smoke"
tests = ["pub/*"]
points_each = 0
visibility = "visible_until_due_date"

[limits]
wall_time_s = 900
call_time_s = 12.5
memory_mb = 4096
cpus = 4
pids = 128
output_kb = 512

[schedule]
due = 2026-12-04T23:59:00-05:00
late_penalty_per_day = 0.1
last_late_day = 3

[submissions]
rate_limit_count = 5
rate_limit_window_minutes = 30
"""

MINIMAL = """
name = "beras-mlp"
title = "Beras I"

[files]
owned = ["layers/dense.py"]

[[points]]
group = "Dense layer"
tests = ["hidden_tests/test_dense.py::*"]
points = 10
"""


def write(tmp_path: Path, text: str, name: str = "beras-mlp",
          folders: tuple[str, ...] = ("public_tests", "hidden_tests")) -> Path:
    """An assignment folder holding ``text`` as its assignment.toml and the given test folders."""
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    for sub in folders:
        (folder / sub).mkdir(exist_ok=True)
    (folder / "assignment.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def with_(base: str, old: str, new: str) -> str:
    """``base`` with one exact piece of text replaced (it must be there)."""
    assert base.count(old) == 1, old
    return base.replace(old, new)


def problems(folder: Path, **kwargs) -> list[str]:
    """The problems load_assignment reports for ``folder``."""
    with pytest.raises(AssignmentConfigError) as info:
        load_assignment(folder, **kwargs)
    assert info.value.problems, "an error with no problems"
    return info.value.problems


def only_problem(folder: Path, **kwargs) -> str:
    found = problems(folder, **kwargs)
    assert len(found) == 1, found
    return found[0]


def keyed(folder: Path, **kwargs) -> list[str]:
    """The problems for ``folder`` without their leading file name, which each must have."""
    prefix = f"{folder / 'assignment.toml'}: "
    found = problems(folder, **kwargs)
    assert all(line.startswith(prefix) for line in found), found
    return [line[len(prefix):] for line in found]


def only_keyed(folder: Path, **kwargs) -> str:
    found = keyed(folder, **kwargs)
    assert len(found) == 1, found
    return found[0]


def fake_package(tmp_path: Path, *files: str) -> Path:
    root = tmp_path / "pkg"
    for file in files:
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        (root / file).write_text("", encoding="utf-8")
    return root


# ---- valid files ------------------------------------------------------------------------------------------

def test_full_file_round_trip(tmp_path):
    folder = write(tmp_path, FULL, folders=("pub", "hid"))
    a = load_assignment(folder, reference_root=REFERENCE)
    assert (a.name, a.title) == ("beras-mlp", "Beras I: layers and a multilayer perceptron")
    assert a.queue is Queue.GPU and a.gpu_variant is GpuVariant.OPTIONAL
    assert a.free_points == 2.0 and type(a.free_points) is float
    assert a.files.owned == ("layers/dense.py", "activations.py")
    assert a.files.complete == ("**/*.py", "layers/__init__.py")
    assert a.files.solutions_released == ("losses.py",)
    assert (a.tests.public, a.tests.hidden) == ("pub", "hid")
    assert a.public_dir == folder.resolve() / "pub" and a.hidden_dir == folder.resolve() / "hid"
    assert a.root == folder.resolve() and a.config_path == folder.resolve() / "assignment.toml"
    dense, activations, smoke = a.points
    assert (dense.group, dense.tests, dense.points, dense.points_each) == (
        "Dense layer", ("hid/test_dense.py::*",), 10.0, None)
    assert type(dense.points) is float and dense.visibility is Visibility.AFTER_DUE_DATE
    assert activations.points is None and activations.points_each == 1.5
    assert activations.visibility is Visibility.HIDDEN
    assert smoke.points_each == 0.0 and smoke.visibility is Visibility.VISIBLE_UNTIL_DUE_DATE
    assert a.limits == Limits(wall_time_s=900.0, call_time_s=12.5, memory_mb=4096, cpus=4.0, pids=128,
                              output_kb=512)
    assert type(a.limits.cpus) is float and type(a.limits.memory_mb) is int
    assert a.schedule is not None
    assert a.schedule.due == datetime(2026, 12, 4, 23, 59, tzinfo=timezone(timedelta(hours=-5)))
    assert a.schedule.due.utcoffset() == timedelta(hours=-5)
    assert (a.schedule.late_penalty_per_day, a.schedule.last_late_day) == (0.1, 3)
    assert a.schedule.closes_at == a.schedule.due + timedelta(days=3)
    assert (a.submissions.rate_limit_count, a.submissions.rate_limit_window_minutes) == (5, 30)
    assert load_assignment(folder / "assignment.toml") == a  # the file itself works as well as its folder
    assert load_assignment(str(folder)) == a


def test_defaults(tmp_path):
    a = load_assignment(write(tmp_path, MINIMAL))
    assert a.queue is Queue.CPU and a.gpu_variant is GpuVariant.NONE and a.free_points == 0.0
    assert a.files.complete == ("**",) and a.files.solutions_released == ()
    assert (a.tests.public, a.tests.hidden) == ("public_tests", "hidden_tests")
    assert a.points[0].visibility is Visibility.AFTER_DUE_DATE
    assert a.limits.model_dump() == {"wall_time_s": 600.0, "call_time_s": 30.0, "call_time_factor": 50.0,
                                     "call_time_floor_s": 2.0, "call_time_repeat_floor_s": 0.5,
                                     "memory_mb": 2048, "cpus": 2.0, "pids": 256, "output_kb": 1024,
                                     "judge_memory_mb": 512, "judge_pids": 64, "judge_output_mb": 64,
                                     "work_tmpfs_mb": 256, "tmp_tmpfs_mb": 64, "sandbox_log_kb": 64}
    assert a.schedule is None
    assert (a.submissions.rate_limit_count, a.submissions.rate_limit_window_minutes) == (10, 60)
    folder = write(tmp_path / "s", MINIMAL + "[schedule]\ndue = 2026-12-04T23:59:00Z\n")
    schedule = load_assignment(folder).schedule
    assert schedule.due == datetime(2026, 12, 4, 23, 59, tzinfo=timezone.utc)
    assert (schedule.late_penalty_per_day, schedule.last_late_day) == (0.0, 0)


def test_the_model_is_frozen(tmp_path):
    a = load_assignment(write(tmp_path, MINIMAL))
    with pytest.raises(ValidationError):
        a.name = "other"
    with pytest.raises(ValidationError):
        a.limits.cpus = 8.0


def test_complete_globs(tmp_path):
    files = load_assignment(write(tmp_path, FULL, folders=("pub", "hid"))).files
    assert files.is_complete("losses.py") and files.is_complete("layers/conv.py")
    assert not files.is_complete("layers/dense.py")  # owned
    only_layers = files.model_copy(update={"complete": ("layers/*",)})
    assert only_layers.is_complete("layers/conv.py") and not only_layers.is_complete("losses.py")
    assert not only_layers.is_complete("layers/sub/x.py")  # '*' stays inside one folder
    assert files.model_copy(update={"complete": ("**",)}).is_complete("layers/sub/x.py")


# ---- one error kind at a time -----------------------------------------------------------------------------

def test_missing_file_and_missing_folder(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    expected = folder / "assignment.toml"
    assert only_problem(folder) == f"{folder}: no assignment.toml found (expected {expected})"
    gone = tmp_path / "gone"
    assert only_problem(gone) == (f"{gone}: no assignment.toml found (expected {gone / 'assignment.toml'}); "
                                  f"{gone} does not exist")
    assert only_problem(gone / "assignment.toml").startswith(f"{gone}: no assignment.toml found")


def test_paths_inside_the_working_folder_are_shown_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "assignments" / "x").mkdir(parents=True)
    assert only_problem(tmp_path / "assignments" / "x") == (
        "assignments/x: no assignment.toml found (expected assignments/x/assignment.toml)")


def test_toml_syntax_error_names_file_line_and_column(tmp_path):
    folder = write(tmp_path, 'name = "beras-mlp"\ntitle = \n')
    message = only_problem(folder)
    assert message.startswith(f"{folder / 'assignment.toml'}: TOML syntax error: ")
    assert "line 2" in message and "column" in message


def test_not_utf8(tmp_path):
    folder = write(tmp_path, MINIMAL)
    (folder / "assignment.toml").write_bytes(b'name = "\xff"\n')
    assert "not UTF-8 text" in only_problem(folder)


def test_unknown_key_at_top_level_lists_the_allowed_keys(tmp_path):
    folder = write(tmp_path, 'titel = "x"\n' + MINIMAL)
    assert only_problem(folder) == (
        f"{folder / 'assignment.toml'}: titel: unknown key (allowed at the top level: description, files, "
        "free_points, gate, gpu_variant, limits, name, points, queue, schedule, submissions, tests, title); "
        "did you mean 'title'?")


def test_unknown_key_in_a_section(tmp_path):
    folder = write(tmp_path, MINIMAL + "[limits]\nmemroy_mb = 4096\n")
    assert only_problem(folder) == (
        f"{folder / 'assignment.toml'}: limits.memroy_mb: unknown key (allowed in [limits]: "
        "call_time_factor, call_time_floor_s, call_time_repeat_floor_s, call_time_s, cpus, judge_memory_mb, "
        "judge_output_mb, judge_pids, memory_mb, output_kb, pids, sandbox_log_kb, tmp_tmpfs_mb, wall_time_s, "
        "work_tmpfs_mb); did you mean 'memory_mb'?")


def test_unknown_key_in_a_points_table_and_unknown_section(tmp_path):
    text = with_(MINIMAL, "points = 10", "points = 10\nweight = 2") + "[limit]\ncpus = 1\n"
    weight, limit = keyed(write(tmp_path, text))
    assert weight == ("points[0].weight: unknown key (allowed in [[points]]: depends_on, group, points, "
                      "points_each, tests, units, visibility)")
    assert limit.startswith("limit: unknown key (allowed at the top level: description, files,")
    assert limit.endswith("did you mean 'limits'?")


def test_root_is_not_a_key_of_the_file(tmp_path):
    assert "root: unknown key (allowed at the top level: description, files," in only_problem(
        write(tmp_path, 'root = "/etc"\n' + MINIMAL))


def test_wrong_type(tmp_path):
    folder = write(tmp_path, MINIMAL + '[limits]\nmemory_mb = "lots"\n')
    assert only_problem(folder) == (
        f"{folder / 'assignment.toml'}: limits.memory_mb: expected an integer between 1 and 1048576, "
        "received 'lots' (a string)")


def test_string_is_never_a_number(tmp_path):
    text = with_(MINIMAL, "points = 10", 'points = "10"') + '[limits]\ncpus = "2.5"\n'
    assert keyed(write(tmp_path, text)) == [
        "points[0].points: expected a number >= 0, received '10' (a string; write numbers without quotes)",
        "limits.cpus: expected a number > 0 and <= 1024, received '2.5' "
        "(a string; write numbers without quotes)",
    ]
    folder = write(tmp_path / "b", MINIMAL + '[limits]\npids = "many"\n')
    assert only_keyed(folder) == ("limits.pids: expected an integer between 1 and 4194304, "
                                  "received 'many' (a string)")


def test_bool_is_never_a_number(tmp_path):
    text = MINIMAL + "[limits]\npids = true\ncpus = false\n[submissions]\nrate_limit_count = true\n"
    assert keyed(write(tmp_path, text)) == [
        "limits.cpus: expected a number > 0 and <= 1024, received false (a boolean)",
        "limits.pids: expected an integer between 1 and 4194304, received true (a boolean)",
        "submissions.rate_limit_count: expected an integer between 1 and 10000, received true (a boolean)",
    ]


def test_ints_fill_floats_but_floats_do_not_fill_ints(tmp_path):
    a = load_assignment(write(tmp_path, MINIMAL + "[limits]\ncpus = 3\nwall_time_s = 60\n"))
    assert a.limits.cpus == 3.0 and type(a.limits.cpus) is float and type(a.limits.wall_time_s) is float
    folder = write(tmp_path / "b", MINIMAL + "[limits]\nmemory_mb = 2048.5\n")
    assert only_keyed(folder) == ("limits.memory_mb: expected an integer between 1 and 1048576, "
                                  "received 2048.5 (a float)")


def test_bad_enum(tmp_path):
    text = MINIMAL + '[[points]]\ngroup = "Other"\ntests = ["x"]\npoints = 1\nvisibility = "secret"\n'
    folder = write(tmp_path, with_(text, 'title = "Beras I"', 'title = "Beras I"\nqueue = 1'))
    queue, visibility = problems(folder)
    file = folder / "assignment.toml"
    assert queue == f"{file}: queue: expected one of 'cpu', 'gpu', received 1 (an integer)"
    assert visibility == (f"{file}: points[1].visibility: expected one of 'visible', 'after_due_date', "
                          "'hidden', 'visible_until_due_date', received 'secret'")


def test_missing_required_keys(tmp_path):
    folder = write(tmp_path, with_(MINIMAL, 'name = "beras-mlp"\n', ""))
    assert only_problem(folder) == f"{folder / 'assignment.toml'}: name: required key is missing"
    assert keyed(write(tmp_path / "b", 'name = "beras-mlp"\ntitle = "t"\n')) == [
        "files: required key is missing (add a [files] table)",
        "points: required key is missing (add at least one [[points]] table)",
    ]
    folder = write(tmp_path / "c", with_(MINIMAL, 'tests = ["hidden_tests/test_dense.py::*"]\n', ""))
    assert only_keyed(folder) == "points[0].tests: required key is missing"


def test_due_date_needs_an_offset(tmp_path):
    folder = write(tmp_path, MINIMAL + "[schedule]\ndue = 2026-12-04T23:59:00\n")
    assert only_problem(folder) == (
        f"{folder / 'assignment.toml'}: schedule.due: expected a date-time with a UTC offset, "
        "e.g. 2026-12-04T23:59:00-05:00, received 2026-12-04T23:59:00 (no offset)")


@pytest.mark.parametrize(("value", "received"), [
    ("2026-12-04", "2026-12-04 (a date without a time)"),
    ('"2026-12-04T23:59:00-05:00"',
     "'2026-12-04T23:59:00-05:00' (a string; write the date-time without quotes)"),
])
def test_due_date_of_the_wrong_type(tmp_path, value, received):
    folder = write(tmp_path, MINIMAL + f"[schedule]\ndue = {value}\n")
    assert only_keyed(folder) == (f"schedule.due: expected a date-time with a UTC offset, "
                                  f"e.g. 2026-12-04T23:59:00-05:00, received {received}")


def test_schedule_without_due(tmp_path):
    folder = write(tmp_path, MINIMAL + "[schedule]\nlast_late_day = 2\n")
    assert only_keyed(folder) == "schedule.due: required key is missing"


def test_points_written_as_a_single_table(tmp_path):
    message = only_keyed(write(tmp_path, with_(MINIMAL, "[[points]]", "[points]")))
    assert message.startswith("points: expected a non-empty list of tables, "
                              "received {group = 'Dense layer', ")
    assert message.endswith("(a table; write each table as [[...]] with double brackets)")


@pytest.mark.parametrize(("amounts", "got"), [("points = 10\npoints_each = 1", "both are set"),
                                               ("visibility = 'hidden'", "neither is set")])
def test_points_and_points_each_exactly_one(tmp_path, amounts, got):
    folder = write(tmp_path, with_(MINIMAL, "points = 10", amounts))
    assert only_problem(folder) == (
        f"{folder / 'assignment.toml'}: points[0]: expected exactly one of points (the group's total, split "
        f"evenly) or points_each (per test), but {got} in group 'Dense layer'")


def test_negative_and_out_of_range_values(tmp_path):
    text = with_(MINIMAL, "points = 10", "points_each = -0.5").replace('title = "Beras I"',
                                                                      'title = "Beras I"\nfree_points = -1')
    text += ("[limits]\nwall_time_s = 0\ncpus = inf\n"
             "[schedule]\ndue = 2026-12-04T23:59:00Z\nlate_penalty_per_day = 1.5\nlast_late_day = -1\n"
             "[submissions]\nrate_limit_window_minutes = 0\n")
    assert keyed(write(tmp_path, text)) == [
        "free_points: expected a number >= 0, received -1",
        "points[0].points_each: expected a number >= 0, received -0.5",
        "limits.wall_time_s: expected a number > 0 and <= 86400, received 0",
        "limits.cpus: expected a number > 0 and <= 1024, received inf",
        "schedule.late_penalty_per_day: expected a number between 0 and 1, received 1.5",
        "schedule.last_late_day: expected an integer between 0 and 365, received -1",
        "submissions.rate_limit_window_minutes: expected an integer between 1 and 525600, received 0",
    ]


def test_values_too_large_to_be_meant_are_refused_with_the_range(tmp_path):
    # Past these a value overflows a date (last_late_day), a database integer or a timer further on.
    text = MINIMAL.replace('title = "Beras I"', 'title = "' + "T" * 301 + '"')
    text += ("[limits]\nwall_time_s = 1e308\nmemory_mb = 99999999999999999999\noutput_kb = 1048577\n"
             "[schedule]\ndue = 2026-12-04T23:59:00Z\nlast_late_day = 99999999999999999999\n"
             "[submissions]\nrate_limit_count = 10001\nrate_limit_window_minutes = 525601\n")
    assert keyed(write(tmp_path, text)) == [
        "title: expected a string of at most 300 characters, received '" + "T" * 76 + "...",
        "limits.wall_time_s: expected a number > 0 and <= 86400, received 1e+308",
        "limits.memory_mb: expected an integer between 1 and 1048576, received 99999999999999999999",
        "limits.output_kb: expected an integer between 1 and 1048576, received 1048577",
        "schedule.last_late_day: expected an integer between 0 and 365, received 99999999999999999999",
        "submissions.rate_limit_count: expected an integer between 1 and 10000, received 10001",
        "submissions.rate_limit_window_minutes: expected an integer between 1 and 525600, received 525601",
    ]


def test_empty_lists_and_strings(tmp_path):
    text = (with_(MINIMAL, 'owned = ["layers/dense.py"]', "owned = []")
            .replace('tests = ["hidden_tests/test_dense.py::*"]', 'tests = ["", " "]')
            .replace('title = "Beras I"', 'title = " "'))
    assert keyed(write(tmp_path, text)) == [
        "title: expected a non-empty string, received ' '",
        "files.owned: expected a non-empty list of strings, received []",
        "points[0].tests[0]: expected a non-empty string, received ''",
        "points[0].tests[1]: expected a non-empty string, received ' '",
    ]


def test_a_string_where_a_list_is_expected(tmp_path):
    folder = write(tmp_path, with_(MINIMAL, 'owned = ["layers/dense.py"]', 'owned = "layers/dense.py"'))
    assert only_keyed(folder) == (
        "files.owned: expected a non-empty list of strings, received 'layers/dense.py' (a string)")


def test_duplicate_owned_and_duplicate_groups(tmp_path):
    text = with_(MINIMAL, 'owned = ["layers/dense.py"]', 'owned = ["a.py", "layers/dense.py", "a.py"]')
    text += '[[points]]\ngroup = "Dense layer"\ntests = ["x"]\npoints = 1\n'
    assert keyed(write(tmp_path, text)) == ["files.owned: file listed more than once: 'a.py'",
                                            "points: group listed more than once: 'Dense layer'"]


@pytest.mark.parametrize(("path", "why"), [
    ("/abs/dense.py", "expected a relative path inside the package"),
    ("../dense.py", "expected a relative path inside the package"),
    ("layers\\\\dense.py", "with '/' between folders"),
    ("layers//dense.py", "no empty, '.' or '..' parts"),
    ("layers/dense.txt", "expected a .py file of the package, e.g. 'layers/dense.py', "
                         "received 'layers/dense.txt'"),
])
def test_bad_owned_paths(tmp_path, path, why):
    message = only_keyed(write(tmp_path, with_(MINIMAL, '"layers/dense.py"', f'"{path}"')))
    assert message.startswith("files.owned[0]: ") and why in message


def test_owned_must_exist_in_the_reference(tmp_path):
    reference = fake_package(tmp_path, "layers/dense.py", "losses.py")
    text = with_(MINIMAL, 'owned = ["layers/dense.py"]', 'owned = ["layers/dense.py", "layers/dnse.py", '
                 '"beras/losses.py"]\nsolutions_released = ["metrics.py"]')
    folder = write(tmp_path, text)
    assert keyed(folder, reference_root=reference) == [
        f"files.owned[1]: 'layers/dnse.py' is not a file of the reference package "
        f"({reference}/layers/dnse.py does not exist)",
        f"files.owned[2]: 'beras/losses.py' is not a file of the reference package "
        f"({reference}/beras/losses.py does not exist); paths start inside the package: drop the 'beras/'",
        f"files.solutions_released[0]: 'metrics.py' is not a file of the reference package "
        f"({reference}/metrics.py does not exist)",
    ]
    assert load_assignment(write(tmp_path / "ok", MINIMAL), reference_root=reference).files.owned == (
        "layers/dense.py",)
    assert load_assignment(folder).files.owned[1] == "layers/dnse.py"  # no reference: nothing to check


def test_missing_reference_folder_is_reported(tmp_path):
    message = only_problem(write(tmp_path, MINIMAL), reference_root=tmp_path / "nowhere")
    assert f"the reference package folder {tmp_path / 'nowhere'} does not exist" in message


def test_owned_and_released_at_once(tmp_path):
    folder = write(tmp_path, with_(MINIMAL, 'owned = ["layers/dense.py"]',
                                   'owned = ["layers/dense.py"]\nsolutions_released = ["layers/dense.py"]'))
    assert only_problem(folder) == (
        f"{folder / 'assignment.toml'}: files.solutions_released: 'layers/dense.py' also in files.owned: "
        "a file is written by this assignment's students or ships complete, not both")


def test_name_must_equal_the_folder(tmp_path):
    folder = write(tmp_path, MINIMAL, name="beras-cnn")
    assert only_problem(folder) == (
        f"{folder / 'assignment.toml'}: name: expected the assignment's folder name 'beras-cnn', "
        "received 'beras-mlp'")
    folder = write(tmp_path / "b", with_(MINIMAL, '"beras-mlp"', '"Beras_MLP"'), name="Beras_MLP")
    assert only_problem(folder).endswith(
        "name: expected lowercase letters, digits and '-', e.g. 'beras-mlp', received 'Beras_MLP'")


def test_missing_test_folders(tmp_path):
    folder = write(tmp_path, MINIMAL, folders=())
    public, hidden = problems(folder)
    assert public == (f"{folder / 'assignment.toml'}: tests.public: folder 'public_tests' not found "
                      f"(expected {folder.resolve() / 'public_tests'}/)")
    assert hidden.endswith(f"tests.hidden: folder 'hidden_tests' not found (expected "
                           f"{folder.resolve() / 'hidden_tests'}/)")
    text = MINIMAL + '[tests]\npublic = "pub"\nhidden = "../elsewhere"\n'
    assert only_keyed(write(tmp_path / "b", text, folders=("pub",))) == (
        "tests.hidden: expected a relative path inside the assignment folder with '/' between folders and "
        "no empty, '.' or '..' parts, received '../elsewhere'")


def test_public_and_hidden_must_differ(tmp_path):
    folder = write(tmp_path, MINIMAL + '[tests]\npublic = "t"\nhidden = "t"\n', folders=("t",))
    assert only_problem(folder).endswith("tests: public and hidden must be different folders, both are 't'")


def test_several_problems_are_reported_together(tmp_path):
    text = """
    name = "beras-mlp"
    title = "Beras I"
    queue = "tpu"

    [files]
    owned = ["layers/dense.py", "layers/dense.py"]

    [[points]]
    group = "Dense layer"
    tests = ["hidden_tests/test_dense.py::*"]
    points = 10
    points_each = 1

    [limits]
    memory_mb = "lots"
    pids = true
    timeout = 3

    [schedule]
    due = 2026-12-04T23:59:00
    """
    folder = write(tmp_path, text, name="beras-cnn", folders=())
    with pytest.raises(AssignmentConfigError) as info:
        load_assignment(folder)
    error = info.value
    assert isinstance(error, ValueError) and error.path == folder / "assignment.toml"
    assert str(error) == "\n".join(error.problems)
    keys = [line.split(": ")[1] for line in error.problems]
    assert keys == ["name", "queue", "files.owned", "tests.public", "tests.hidden", "points[0]",
                    "limits.memory_mb", "limits.pids", "limits.timeout", "schedule.due"]
    assert all(line.startswith(f"{folder / 'assignment.toml'}: ") for line in error.problems)
    assert "Input should" not in str(error) and "pydantic" not in str(error)  # no raw pydantic text


# ---- points per test id -----------------------------------------------------------------------------------

POINTS = MINIMAL.split("[[points]]")[0] + """
[[points]]
group = "Dense"
tests = ["hidden_tests/test_dense.py::*"]
points = 10

[[points]]
group = "Relu"
tests = ["hidden_tests/test_act.py::test_relu[*]", "hidden_tests/test_act.py::test_relu_grad"]
points_each = 0.5
visibility = "visible"
"""


def test_points_split_evenly_and_each(tmp_path):
    a = load_assignment(write(tmp_path, POINTS))
    ids = ["hidden_tests/test_dense.py::test_forward", "hidden_tests/test_dense.py::test_backward[float32-2]",
           "hidden_tests/test_dense.py::test_bias[numpy]", "hidden_tests/test_dense.py::test_shapes",
           "hidden_tests/test_act.py::test_relu[cupy-1.5]", "hidden_tests/test_act.py::test_relu_grad"]
    scores = assign_points(a, ids + ids[:1])  # a repeated id counts once
    assert list(scores) == ids
    assert [scores[tid].points for tid in ids] == [2.5, 2.5, 2.5, 2.5, 0.5, 0.5]
    assert scores[ids[1]].group == "Dense" and scores[ids[1]].visibility is Visibility.AFTER_DUE_DATE
    assert scores[ids[4]].group == "Relu" and scores[ids[4]].visibility is Visibility.VISIBLE
    assert scores[ids[4]].test_id == ids[4]
    assert a.total_points(ids) == 11.0


def test_brackets_in_patterns_are_literal(tmp_path):
    a = load_assignment(write(tmp_path, POINTS))
    dense = ["hidden_tests/test_dense.py::test_forward"]
    # 'test_relu[*]' matches parametrized ids only: not 'test_relu' itself nor 'test_relux' ([ is not a class)
    for unmatched in ("hidden_tests/test_act.py::test_relu", "hidden_tests/test_act.py::test_relux",
                      "hidden_tests/test_act.py::test_relu_grad[1]"):
        with pytest.raises(PointsError, match="is matched by no"):
            assign_points(a, [*dense, "hidden_tests/test_act.py::test_relu_grad", unmatched])


def test_star_spans_folders_and_colons(tmp_path):
    a = load_assignment(write(tmp_path, with_(MINIMAL, "test_dense.py::*", "**")))
    ids = ["hidden_tests/test_a.py::t", "hidden_tests/sub/test_b.py::T::t[x-1]"]
    assert [entry.points for entry in assign_points(a, ids).values()] == [5.0, 5.0]
    a = load_assignment(write(tmp_path / "b", with_(MINIMAL, "test_dense.py::*", "*_b.py::*")))
    assert list(assign_points(a, ids[1:])) == ids[1:]


def test_question_mark_matches_one_character(tmp_path):
    text = with_(MINIMAL, "test_dense.py::*", "test_?.py::t")
    a = load_assignment(write(tmp_path, text))
    assert list(assign_points(a, ["hidden_tests/test_a.py::t"])) == ["hidden_tests/test_a.py::t"]
    with pytest.raises(PointsError):
        assign_points(a, ["hidden_tests/test_ab.py::t"])


def test_points_problems_are_listed_together(tmp_path):
    text = POINTS + '[[points]]\ngroup = "Everything"\ntests = ["hidden_tests/*::test_f*"]\npoints = 1\n'
    text += '[[points]]\ngroup = "Conv"\ntests = ["hidden_tests/test_conv.py::*"]\npoints = 5\n'
    folder = write(tmp_path, text)
    a = load_assignment(folder)
    with pytest.raises(PointsError) as info:
        assign_points(a, ["hidden_tests/test_dense.py::test_forward", "hidden_tests/test_pool.py::test_max",
                          "hidden_tests/test_act.py::test_relu_grad"])
    file = folder.resolve() / "assignment.toml"
    assert isinstance(info.value, ValueError) and info.value.path == file
    assert info.value.problems == [
        f"{file}: test 'hidden_tests/test_dense.py::test_forward' is matched by several [[points]] groups: "
        "'Dense', 'Everything'",
        f"{file}: test 'hidden_tests/test_pool.py::test_max' is matched by no [[points]] group",
        f"{file}: group 'Conv' matches no test (tests = ['hidden_tests/test_conv.py::*'])",
    ]
    assert str(info.value) == "\n".join(info.value.problems)


def test_no_test_ids_means_every_group_matches_nothing(tmp_path):
    a = load_assignment(write(tmp_path, POINTS))
    with pytest.raises(PointsError) as info:
        a.total_points([])
    assert [line.split(": ", 1)[1] for line in info.value.problems] == [
        "group 'Dense' matches no test (tests = ['hidden_tests/test_dense.py::*'])",
        "group 'Relu' matches no test (tests = ['hidden_tests/test_act.py::test_relu[*]', "
        "'hidden_tests/test_act.py::test_relu_grad'])",
    ]


# ---- discovery --------------------------------------------------------------------------------------------

def test_discover_assignments(tmp_path):
    write(tmp_path, MINIMAL, name="beras-mlp")
    write(tmp_path, "not even valid =", name="beras-cnn")  # discovery does not parse
    (tmp_path / "drafts").mkdir()
    (tmp_path / "README.md").write_text("", encoding="utf-8")
    found = discover_assignments(tmp_path)
    assert found == {"beras-cnn": tmp_path / "beras-cnn", "beras-mlp": tmp_path / "beras-mlp"}
    assert list(found) == ["beras-cnn", "beras-mlp"]
    assert discover_assignments(tmp_path / "drafts") == {}
    with pytest.raises(FileNotFoundError, match="no such folder of assignments"):
        discover_assignments(tmp_path / "nowhere")


def test_assignment_is_usable_without_a_file(tmp_path):
    a = Assignment.model_validate({"name": "x", "title": "t", "files": {"owned": ["a.py"]},
                                   "points": [{"group": "g", "tests": ["*"], "points": 1}], "root": tmp_path})
    assert a.public_dir == tmp_path / "public_tests" and a.points[0].matches("anything::at [all]")


# ---- the documentation ------------------------------------------------------------------------------------

SCHEMA_MD = Path(__file__).resolve().parents[2] / "assignments" / "SCHEMA.md"


def test_schema_md_examples_load(tmp_path):
    blocks = SCHEMA_MD.read_text(encoding="utf-8").split("```toml\n")[1:]
    assert len(blocks) == 2
    for number, block in enumerate(blocks):
        a = load_assignment(write(tmp_path / str(number), block.split("```")[0]), reference_root=REFERENCE)
        assert a.name == "beras-mlp"


def test_schema_md_documents_every_key():
    text = SCHEMA_MD.read_text(encoding="utf-8")
    sections = ["files", "tests", "limits", "schedule", "submissions", "gate"]
    models = [Assignment, PointsGroup, Schedule,
              *(Assignment.model_fields[name].annotation
                for name in ("files", "tests", "limits", "submissions", "gate"))]
    keys = {key for model in models for key in model.model_fields} - {"root", "points", *sections}
    assert {key for key in keys if f"| `{key}` |" not in text} == set()
    assert all(f"## `[{section}]`" in text for section in sections) and "## `[[points]]`" in text
