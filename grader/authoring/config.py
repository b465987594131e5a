"""The assignment.toml schema: loading, validation with readable errors, and points per test id."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from grader.authoring import units
from grader.authoring.config_errors import OWN_ERROR, dotted, explain, unknown_key

CONFIG_FILE = "assignment.toml"
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


class Queue(StrEnum):
    """The worker pool that grades submissions."""

    CPU = "cpu"
    GPU = "gpu"


class GpuVariant(StrEnum):
    """Whether the same suite may also run on the gpu queue under CuPy."""

    NONE = "none"
    OPTIONAL = "optional"


class Verdict(StrEnum):
    """Whether a failing gate check refuses the release, or only reports."""

    ENFORCED = "enforced"
    ADVISORY = "advisory"


class Visibility(StrEnum):
    """When students see a test's result."""

    VISIBLE = "visible"
    AFTER_DUE_DATE = "after_due_date"
    HIDDEN = "hidden"
    VISIBLE_UNTIL_DUE_DATE = "visible_until_due_date"


# ---- field checks; each raises a problem whose message is shown as is after the key ------------------------

def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError(OWN_ERROR, "{message}", {"message": message})


def _context(info: ValidationInfo, key: str) -> Any:
    return (info.context or {}).get(key)


def _relative(value: str, inside: str) -> str:
    """Check that ``value`` is a POSIX path inside ``inside``."""
    if "\\" in value or value.startswith("/") or {"", ".", ".."} & set(value.split("/")):
        raise _problem(f"expected a relative path inside {inside} with '/' between folders and no empty, "
                       f"'.' or '..' parts, received {value!r}")
    return value


def _package_file(value: str, info: ValidationInfo) -> str:
    _relative(value, "the package")
    if not value.endswith(".py"):
        raise _problem(f"expected a .py file of the package, e.g. 'layers/dense.py', received {value!r}")
    reference = _context(info, "reference_root")
    if reference is not None and not (reference / value).is_file():
        hint = "; paths start inside the package: drop the 'beras/'" if value.startswith("beras/") else ""
        raise _problem(f"{value!r} is not a file of the reference package "
                       f"({_shown(reference / value)} does not exist){hint}")
    return value


def _suite_folder(value: str, info: ValidationInfo) -> str:
    _relative(value, "the assignment folder")
    root = _context(info, "root")
    if root is not None and not (root / value).is_dir():
        raise _problem(f"folder {value!r} not found (expected {_shown(root / value)}/)")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise _problem(f"expected a non-empty string, received {value!r}")
    return value


def _assignment_name(value: str, info: ValidationInfo) -> str:
    if not _NAME.fullmatch(value):
        raise _problem(f"expected lowercase letters, digits and '-', e.g. 'beras-mlp', received {value!r}")
    root = _context(info, "root")
    if root is not None and value != root.name:
        raise _problem(f"expected the assignment's folder name {root.name!r}, received {value!r}")
    return value


def _unique(values: Iterable[str], what: str) -> None:
    values = list(values)
    twice = sorted({value for value in values if values.count(value) > 1})
    if twice:
        raise _problem(f"{what} listed more than once: {', '.join(map(repr, twice))}")


def _unit_pattern(value: str) -> str:
    problem = units.pattern_problem(value)
    if problem:
        raise _problem(problem)
    return value


_Text = Annotated[str, AfterValidator(_not_blank)]
_UnitPattern = Annotated[str, AfterValidator(_unit_pattern)]
_PackageFile = Annotated[str, AfterValidator(_package_file)]
_PackageGlob = Annotated[str, AfterValidator(lambda value: _relative(value, "the package"))]
_SuiteFolder = Annotated[str, AfterValidator(_suite_folder)]
_NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# Upper bounds too: a value past them is a typo, and would overflow a date, a database integer or a timer
# later.
_Title = Annotated[str, Field(max_length=300), AfterValidator(_not_blank)]  # assignments.title's length
# Markdown for the starter README and the assignment page; a bound keeps a pasted book out of every page.
_Description = Annotated[str, Field(max_length=20_000), AfterValidator(_not_blank)]
_Seconds = Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)]  # at most a day
_Cpus = Annotated[float, Field(gt=0, le=1024, allow_inf_nan=False)]
_Factor = Annotated[float, Field(ge=1, le=100_000, allow_inf_nan=False)]
_Megabytes = Annotated[int, Field(ge=1, le=1_048_576)]  # at most 1 TiB
_Kilobytes = Annotated[int, Field(ge=1, le=1_048_576)]  # at most 1 GiB
_Pids = Annotated[int, Field(ge=1, le=4_194_304)]  # Linux's largest pid_max
_LateDays = Annotated[int, Field(ge=0, le=365)]
_Count = Annotated[int, Field(ge=1, le=10_000)]
_Minutes = Annotated[int, Field(ge=1, le=525_600)]  # at most a year


@lru_cache(maxsize=1024)
def _pattern(pattern: str, path_glob: bool) -> re.Pattern[str]:
    """Compile a wildcard pattern; everything but the wildcards is literal (``[`` and ``]`` included).

    Test ids (``path_glob`` false): ``*`` matches any run of characters, ``?`` one character.
    Path globs: ``**`` spans folders, ``*`` and ``?`` stay inside one path part.
    """
    if path_glob:
        wild = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    else:
        wild = {"**/": ".*/", "**": ".*", "*": ".*", "?": "."}
    tokens = re.findall(r"\*\*/|\*\*|.", pattern, re.DOTALL)
    return re.compile("".join(wild.get(token, re.escape(token)) for token in tokens), re.DOTALL)


# ---- the schema -------------------------------------------------------------------------------------------

class Files(BaseModel):
    """``[files]``: the reference files students write, and those shipped complete."""

    model_config = _STRICT
    owned: tuple[_PackageFile, ...] = Field(strict=False, min_length=1)
    complete: tuple[_PackageGlob, ...] = Field(("**",), strict=False)
    solutions_released: tuple[_PackageFile, ...] = Field((), strict=False)

    @field_validator("owned", "solutions_released")
    @classmethod
    def _no_duplicates(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        _unique(paths, "file")
        return paths

    @field_validator("solutions_released")
    @classmethod
    def _not_owned(cls, paths: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        both = [path for path in paths if path in info.data.get("owned", ())]
        if both:
            raise _problem(f"{', '.join(map(repr, both))} also in files.owned: a file is written by this "
                           "assignment's students or ships complete, not both")
        return paths

    def is_complete(self, path: str) -> bool:
        """Whether the package file ``path`` ships complete: not owned, and matched by a ``complete`` glob."""
        return path not in self.owned and any(_pattern(glob, True).fullmatch(path) for glob in self.complete)


class SuiteFolders(BaseModel):
    """``[tests]``: the public and hidden test folders inside the assignment folder."""

    model_config = _STRICT
    public: _SuiteFolder = Field("public_tests", validate_default=True)
    hidden: _SuiteFolder = Field("hidden_tests", validate_default=True)

    @model_validator(mode="after")
    def _distinct(self) -> SuiteFolders:
        if self.public == self.hidden:
            raise _problem(f"public and hidden must be different folders, both are {self.public!r}")
        return self


class PointsGroup(BaseModel):
    """One ``[[points]]`` table: the tests of a group, their points and when students see them."""

    model_config = _STRICT
    group: _Text
    tests: tuple[_Text, ...] = Field(strict=False, min_length=1)
    points: _NonNegativeFloat | None = None
    points_each: _NonNegativeFloat | None = None
    visibility: Visibility = Field(Visibility.AFTER_DUE_DATE, strict=False)
    # The units this group grades, and those its tests use besides: stubbing any other unit must cost it
    # nothing.
    units: tuple[_UnitPattern, ...] = Field((), strict=False)
    depends_on: tuple[_UnitPattern, ...] = Field((), strict=False)

    @model_validator(mode="after")
    def _one_amount(self) -> PointsGroup:
        if (self.points is None) == (self.points_each is None):
            got = "neither is set" if self.points is None else "both are set"
            raise _problem(f"expected exactly one of points (the group's total, split evenly) or points_each "
                           f"(per test), but {got} in group {self.group!r}")
        return self

    def matches(self, test_id: str) -> bool:
        """Whether one of the group's patterns matches the whole of ``test_id``."""
        return any(_pattern(pattern, False).fullmatch(test_id) for pattern in self.tests)

    def may_lose_to(self, unit_name: str) -> bool:
        """Whether a bug in the unit ``<file>::<qualname>`` may cost this group points.

        It may when one of the group's ``units`` or ``depends_on`` patterns matches it.
        """
        return any(units.matches(pattern, unit_name) for pattern in (*self.units, *self.depends_on))


class Limits(BaseModel):
    """``[limits]``: the resources of one grading run; the one table of limits and their defaults.

    Every figure the sandbox and the harness enforce comes from here (``SandboxLimits.from_table`` for
    the sandbox, the job spec for the harness); nothing downstream holds a default of its own.
    assignments/SCHEMA.md documents each key.
    """

    model_config = _STRICT
    wall_time_s: _Seconds = 600.0
    call_time_s: _Seconds = 30.0
    # Each test's per-call deadline: factor x the reference's time for the test, at least the floor, at most
    # call_time_s; a method that timed out once in the run gets factor x its longest call that returned, at
    # least the repeat floor (grader/harness/deadlines.py; the README's "How a run is built" says why).
    call_time_factor: _Factor = 50.0
    call_time_floor_s: _Seconds = 2.0
    call_time_repeat_floor_s: _Seconds = 0.5
    memory_mb: _Megabytes = 2048
    cpus: _Cpus = 2.0
    pids: _Pids = 256
    output_kb: _Kilobytes = 1024
    # What the sandbox holds on top of the student's share: the judge (pytest, the hidden tests, the
    # reference) and the launcher. The sandbox's memory is memory_mb + judge_memory_mb, its processes
    # pids + judge_pids; the judge's own output file is capped at judge_output_mb.
    judge_memory_mb: _Megabytes = 512
    judge_pids: _Pids = 64
    judge_output_mb: _Megabytes = 64
    # The sandbox's writable folders (tmpfs; their pages count against the sandbox's memory) and how much
    # of the launcher's own output the worker keeps.
    work_tmpfs_mb: _Megabytes = 256
    tmp_tmpfs_mb: _Megabytes = 64
    sandbox_log_kb: _Kilobytes = 64


class GateSettings(BaseModel):
    """``[gate]``: how the release gate treats this assignment.

    ``blast_radius = "advisory"`` is temporary: it reports the blast-radius check's refusals
    without refusing the release, until the assignment's suites confine every unit.
    """

    model_config = _STRICT
    blast_radius: Verdict = Field(Verdict.ENFORCED, strict=False)


class Schedule(BaseModel):
    """``[schedule]``: the opening date, the due date and the late policy.

    The datetimes keep the offset the author wrote (students see due dates in it, with UTC beside it).
    """

    model_config = _STRICT
    opens: AwareDatetime | None = None
    due: AwareDatetime
    late_penalty_per_day: _Fraction = 0.0
    last_late_day: _LateDays = 0

    @model_validator(mode="after")
    def _opens_before_due(self) -> Schedule:
        if self.opens is not None and self.opens >= self.due:
            raise _problem(f"opens ({self.opens.isoformat()}) must be before due ({self.due.isoformat()}): "
                           "students need the time between them to do the work")
        return self

    def is_open_at(self, moment: datetime) -> bool:
        """Whether students may download the starter and submit at ``moment`` (from ``opens``, if set)."""
        return self.opens is None or moment >= self.opens

    @property
    def closes_at(self) -> datetime:
        """The last moment a submission is accepted: the due date plus ``last_late_day`` days."""
        return self.due + timedelta(days=self.last_late_day)


class Submissions(BaseModel):
    """``[submissions]``: the rate limit per student."""

    model_config = _STRICT
    rate_limit_count: _Count = 10
    rate_limit_window_minutes: _Minutes = 60


class Assignment(BaseModel):
    """A validated assignment.toml; ``root`` is the assignment folder (not read from the file)."""

    model_config = _STRICT
    name: Annotated[str, AfterValidator(_assignment_name)]
    title: _Title
    description: _Description | None = None
    queue: Queue = Field(Queue.CPU, strict=False)
    gpu_variant: GpuVariant = Field(GpuVariant.NONE, strict=False)
    free_points: _NonNegativeFloat = 0.0
    files: Files
    tests: SuiteFolders = Field(default_factory=SuiteFolders)
    points: tuple[PointsGroup, ...] = Field(strict=False, min_length=1)
    limits: Limits = Field(default_factory=Limits)
    gate: GateSettings = Field(default_factory=GateSettings)
    schedule: Schedule | None = None
    submissions: Submissions = Field(default_factory=Submissions)
    root: Path = Field(exclude=True)

    @field_validator("points")
    @classmethod
    def _unique_groups(cls, groups: tuple[PointsGroup, ...]) -> tuple[PointsGroup, ...]:
        _unique((group.group for group in groups), "group")
        return groups

    @field_validator("points")
    @classmethod
    def _known_units(cls, groups: tuple[PointsGroup, ...], info: ValidationInfo) -> tuple[PointsGroup, ...]:
        """Every unit pattern names some unit of the owned files (checked where the reference is known)."""
        reference, files = _context(info, "reference_root"), info.data.get("files")
        if reference is None or files is None:
            return groups
        found = units.package_units(reference, files.owned)
        if found is None:
            return groups  # a file with invalid markers: the gate's first check names it
        known = [unit.name for unit in found]
        unknown = [f"group {group.group!r}: {key} {pattern!r}" for group in groups
                   for key in ("units", "depends_on") for pattern in getattr(group, key)
                   if not any(units.matches(pattern, name) for name in known)]
        if unknown:
            shown = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
            raise _problem(f"{'; '.join(unknown)}: matches no unit the students write; units are "
                           f"'<file>::<qualname>' of the owned files, e.g. {units.EXAMPLES}; "
                           f"this assignment's: {shown or 'none'}")
        return groups

    @property
    def config_path(self) -> Path:
        """The assignment.toml in ``root``."""
        return self.root / CONFIG_FILE

    @property
    def public_dir(self) -> Path:
        """The public test folder."""
        return self.root / self.tests.public

    @property
    def hidden_dir(self) -> Path:
        """The hidden test folder."""
        return self.root / self.tests.hidden

    def total_points(self, test_ids: Iterable[str]) -> float:
        """The points of all of ``test_ids`` together; raises PointsError as assign_points does."""
        return sum(entry.points for entry in assign_points(self, test_ids).values())


class _Problems(ValueError):
    """Problems found in one file; str() lists them one per line."""

    def __init__(self, path: Path | str, problems: Iterable[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class AssignmentConfigError(_Problems):
    """All problems found in one assignment.toml; str() lists them one per line."""


class PointsError(_Problems):
    """Test ids and [[points]] groups that do not pair up one to one; str() lists them one per line."""


@dataclass(frozen=True)
class TestPoints:
    """The points one test is worth, the group that gives them, and when students see the result."""

    __test__ = False  # not a pytest test class
    test_id: str
    group: str
    points: float
    visibility: Visibility


# ---- loading and scoring ----------------------------------------------------------------------------------

def _shown(path: Path) -> str:
    """``path`` relative to the working folder when it lies inside it."""
    try:
        return str(path.relative_to(Path.cwd()) if path.is_absolute() else path)
    except ValueError:
        return str(path)


def load_assignment(path: Path | str, *, reference_root: Path | str | None = None) -> Assignment:
    """Read and validate an assignment's assignment.toml, reporting every problem at once.

    Args:
        path: the assignment folder, or its assignment.toml.
        reference_root: the folder of the reference package's files (e.g. ``reference/beras``); when
            given, every owned and released file must exist there.

    Returns:
        The assignment, with ``root`` the resolved assignment folder.

    Raises:
        AssignmentConfigError: the file is missing, is not TOML, or breaks the schema; its ``problems``
            each name the file, the key and what was expected and received.
    """
    path = Path(path)
    is_file = path.is_file() or path.name == CONFIG_FILE
    folder, file = (path.parent, path) if is_file else (path, path / CONFIG_FILE)
    if not file.is_file():
        gone = "" if folder.is_dir() else f"; {_shown(folder)} does not exist"
        raise AssignmentConfigError(file, [f"{_shown(folder)}: no {CONFIG_FILE} found "
                                           f"(expected {_shown(file)}){gone}"])
    shown = _shown(file)
    try:
        data = tomllib.loads(file.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise AssignmentConfigError(file, [f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) \
            from None
    except tomllib.TOMLDecodeError as exc:
        raise AssignmentConfigError(file, [f"{shown}: TOML syntax error: {exc}"]) from None
    except OSError as exc:
        raise AssignmentConfigError(file, [f"{shown}: cannot read the file ({exc.strerror})"]) from None
    problems = []
    if "root" in data:
        problems.append(f"{shown}: root: {unknown_key(('root',), Assignment)}")
        del data["root"]
    reference = None if reference_root is None else Path(reference_root)
    if reference is not None and not reference.is_dir():
        problems.append(f"{shown}: files: cannot check the owned files: the reference package folder "
                        f"{_shown(reference)} does not exist")
        reference = None
    data.setdefault("tests", {})  # so that missing default test folders are reported too
    root = folder.resolve()
    context = {"root": root, "reference_root": reference}
    try:
        assignment = Assignment.model_validate({**data, "root": root}, context=context)
    except ValidationError as exc:
        explained = ((error["loc"], explain(error, Assignment)) for error in exc.errors())
        problems += [f"{shown}: {dotted(loc)}: {text}" for loc, text in explained if text]
    if problems:
        raise AssignmentConfigError(file, problems)
    return assignment


def discover_assignments(root: Path | str) -> dict[str, Path]:
    """Find the assignments under ``root`` (folders holding an assignment.toml; nothing is parsed).

    Returns:
        Folder name -> folder, sorted by name.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{_shown(root)}: no such folder of assignments")
    return {sub.name: sub for sub in sorted(root.iterdir()) if sub.is_dir() and (sub / CONFIG_FILE).is_file()}


def assign_points(
    assignment: Assignment, test_ids: Iterable[str], *, every_group_used: bool = True
) -> dict[str, TestPoints]:
    """Pair each test id with exactly one [[points]] group and give it its points.

    A group's ``points`` is split evenly across the ids it matches; ``points_each`` goes to each of them.

    Args:
        assignment: the loaded assignment.
        test_ids: pytest ids as ``<folder>/<file>::<test name with params>``; repeats count once.

    Returns:
        Test id -> its points, group and visibility, in the order of ``test_ids``.

        every_group_used: report groups that match no id (False for a run of one suite only).

    Raises:
        PointsError: ids matched by no group or by several, and groups matching no id, all listed.
    """
    groups = assignment.points
    owners = {tid: [group for group in groups if group.matches(tid)] for tid in dict.fromkeys(test_ids)}
    counts = {group.group: sum(group in found for found in owners.values()) for group in groups}
    shown, problems = _shown(assignment.config_path), []
    for tid, found in owners.items():
        if len(found) != 1:
            problems.append(f"{shown}: test {tid!r} is matched by " + (
                "no [[points]] group" if not found else
                f"several [[points]] groups: {', '.join(repr(group.group) for group in found)}"))
    for group in groups:
        if every_group_used and not counts[group.group]:
            problems.append(f"{shown}: group {group.group!r} matches no test "
                            f"(tests = [{', '.join(map(repr, group.tests))}])")
    if problems:
        raise PointsError(assignment.config_path, problems)
    result = {}
    for tid, (group,) in owners.items():
        each = group.points_each if group.points_each is not None else group.points / counts[group.group]
        result[tid] = TestPoints(tid, group.group, each, group.visibility)
    return result
