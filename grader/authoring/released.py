"""A released assignment as grading sees it: the autograder folder ``beras-grader release`` wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from grader.authoring.config import (
    Assignment,
    AssignmentConfigError,
    PointsError,
    TestPoints,
    assign_points,
    load_assignment,
)


class ReleaseError(Exception):
    """The folder is not a usable autograder release; the message names what is wrong."""


@dataclass(frozen=True)
class Released:
    """One autograder folder, loaded and checked.

    Attributes:
        root: the ``<name>-autograder`` folder.
        assignment: its ``assignment.toml``.
        test_ids: every public and hidden test id.
        points: each test id's points, group and visibility.
        version: the release's content hash (from ``release.json``; ``unreleased`` for a staged folder).
        reference_times: test id -> the reference's time for it in the release gate, in seconds (from
            ``release.json``; empty for a staged folder or an older release: every call then gets
            ``call_time_s``).
    """

    root: Path
    assignment: Assignment
    test_ids: tuple[str, ...]
    points: dict[str, TestPoints]
    version: str
    reference_times: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.assignment.name

    @property
    def assignment_dir(self) -> Path:
        return self.root / self.assignment.name

    @property
    def reference(self) -> Path:
        return self.root / "reference" / "beras"

    @property
    def starter(self) -> Path:
        """The student's package as graded: owned files as stubs, the rest complete."""
        return self.root / "starter" / "beras"


def load_released(root: Path) -> Released:
    """Load an autograder folder (``<name>-autograder``) and check it holds what grading needs.

    Raises:
        ReleaseError: a part is missing or the points do not add up.
    """
    root = Path(root)
    manifest = root / "release.json"
    ids_file = root / "test-ids.json"
    tomls = sorted(root.glob("*/assignment.toml"))
    if not tomls:
        raise ReleaseError(f"{root} is not an autograder release: no <assignment>/assignment.toml in it "
                           "(make one with `beras-grader release NAME --out DIR`)")
    for needed in (ids_file, root / "reference" / "beras" / "__init__.py", root / "starter" / "beras"):
        if not needed.exists():
            raise ReleaseError(f"{root} is not a complete autograder release: {needed.relative_to(root)} is "
                               "missing (release it again with this version of beras-grader)")
    try:
        assignment = load_assignment(tomls[0].parent)
    except AssignmentConfigError as error:
        raise ReleaseError(f"{tomls[0]} is invalid:\n" + "\n".join(error.problems)) from None
    test_ids = tuple(json.loads(ids_file.read_text()))
    try:
        points = assign_points(assignment, list(test_ids))
    except PointsError as error:
        raise ReleaseError("the release's points do not add up:\n" + "\n".join(error.problems)) from None
    data = json.loads(manifest.read_text()) if manifest.is_file() else {}
    times = data.get("reference_times_s", {})
    if not isinstance(times, dict):
        times = {}
    times = {str(k): float(v) for k, v in times.items() if isinstance(v, (int, float))}
    return Released(root.resolve(), assignment, test_ids, points, data.get("version", "unreleased"), times)


@lru_cache(maxsize=64)
def released_at(path: str) -> Released:
    """``load_released`` once per process for each published folder (a published folder never changes)."""
    return load_released(Path(path))
