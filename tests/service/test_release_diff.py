"""What a release changes against the published one, read from two toy releases staged without the gate."""

from __future__ import annotations

import pytest

from grader.service.release_diff import Change, ReleaseDiffError, compare, read_release
from tests.service.staged import change_toy, stage, toy_course

SCALE = "hidden_tests/test_ops.py::test_scale_sum_random"


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory):
    """The toy as released (version ``v1``), then edited by ``change_toy`` and released again (``v2``)."""
    root = tmp_path_factory.mktemp("diff")
    toy = toy_course(root) / "toy"
    first = stage(toy, root / "v1", "v1")
    change_toy(toy)
    second = stage(toy, root / "v2", "v2", readme="# Toy, second edition\n")
    return [read_release(folder, zip_path.read_bytes()) for folder, zip_path in (first, second)]


def test_each_kind_of_change_is_listed(two_releases):
    old, new = two_releases
    diff = compare(old, new)
    assert (diff.old_version, diff.new_version, diff.first, diff.unchanged) == ("v1", "v2", False, False)
    assert diff.tests_added == ["public_tests/test_more.py::test_more",
                                "hidden_tests/test_ops.py::test_double_zeros"]
    assert diff.tests_removed == []
    assert diff.points == [Change("hidden", 8.0, 10.0), Change("sum", None, 3.0)]
    assert diff.moved == [Change(SCALE, "hidden", "sum")]
    assert diff.visibility == [Change("public", "visible", "after_due_date")]
    assert diff.limits == [Change("wall_time_s", 600.0, 300.0)]
    due = {change.key: change for change in diff.schedule}["due"]
    assert (due.old, due.new) == (None, "2027-01-15T23:59:00-05:00")
    assert diff.settings == []
    assert diff.starter.to_dict() == {"added": ["public_tests/test_more.py"], "removed": [],
                                      "changed": ["README.md"]}
    assert diff.hidden.to_dict() == {"added": [], "removed": [], "changed": ["test_ops.py"]}


def test_backwards_the_same_changes_read_as_removals(two_releases):
    old, new = two_releases
    back = compare(new, old)
    assert back.tests_removed == ["public_tests/test_more.py::test_more",
                                  "hidden_tests/test_ops.py::test_double_zeros"]
    assert back.points == [Change("hidden", 10.0, 8.0), Change("sum", 3.0, None)]
    assert back.starter.removed == ["public_tests/test_more.py"]


def test_a_first_release_and_an_unchanged_one(two_releases):
    old, _ = two_releases
    first = compare(None, old)
    assert first.first and first.to_dict()["first_release"] and first.tests_added == []
    same = compare(old, old)
    assert same.unchanged and not same.first and same.to_dict()["unchanged"]


def test_hidden_test_files_are_named_for_staff_and_only_counted_otherwise(two_releases):
    diff = compare(*two_releases)
    assert diff.to_dict()["hidden_test_files"]["changed"] == ["test_ops.py"]
    assert diff.to_dict(staff=False)["hidden_test_files"] == {"added": 0, "removed": 0, "changed": 1}
    assert "test_double_zeros(student)" not in str(diff.to_dict())  # names, never the tests' text


def test_what_is_not_a_release_is_refused_by_name(tmp_path, two_releases):
    with pytest.raises(ReleaseDiffError, match="nothing-here is not a complete release folder"):
        read_release(tmp_path / "nothing-here", b"")


def test_a_starter_that_is_not_a_zip_is_refused_by_name(tmp_path_factory):
    root = tmp_path_factory.mktemp("badzip")
    folder, _ = stage(toy_course(root) / "toy", root / "out", "v1")
    with pytest.raises(ReleaseDiffError, match="the starter zip of toy-autograder cannot be read"):
        read_release(folder, b"not a zip")
