"""What a release changes against the published one: tests, points, visibility, limits, schedule and files."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.authoring.config import AssignmentConfigError, PointsError, assign_points, load_assignment

# Settings compared key by key besides the points, the limits and the schedule (which have their own
# sections); ``files``, ``tests`` and ``gate`` show in the file and test changes, or do not reach students.
# Those this version has.
_SETTINGS = ("title", "description", "queue", "gpu_variant", "free_points", "submissions")
_SKIPPED_PARTS = ("__pycache__", ".pytest_cache")


class ReleaseDiffError(Exception):
    """A release folder or starter zip could not be read; the message names which and why."""


@dataclass(frozen=True)
class Group:
    """One [[points]] group as released: its total points and who sees its results when."""

    points: float
    visibility: str


@dataclass(frozen=True)
class Contents:
    """What one release holds that students or grading notice (file contents only as hashes).

    Attributes:
        name: the assignment's name.
        version: the release's content hash (``unreleased`` for a staged folder without ``release.json``).
        tests: test id -> its group.
        groups: group -> its total points and visibility.
        limits: each ``[limits]`` key -> its value.
        schedule: each ``[schedule]`` key -> its value (as TOML would write it); empty without a schedule.
        settings: the other student-facing settings, flattened (``submissions.rate_limit_count``).
        starter_files: path inside the starter (its top folder left out) -> sha256.
        hidden_files: path inside the hidden tests folder -> sha256.
    """

    name: str
    version: str
    tests: dict[str, str]
    groups: dict[str, Group]
    limits: dict[str, Any]
    schedule: dict[str, Any]
    settings: dict[str, Any]
    starter_files: dict[str, str]
    hidden_files: dict[str, str]


@dataclass(frozen=True)
class Change:
    """A value that differs: ``old`` or ``new`` is None where the key is only on one side."""

    key: str
    old: Any
    new: Any


@dataclass(frozen=True)
class FileChanges:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_dict(self) -> dict:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


@dataclass(frozen=True)
class ReleaseDiff:
    """The changes a release brings against the published version (``first``: nothing was published yet).

    Hidden test files are listed by name only, never by content; ``to_dict(staff=False)`` counts them instead.
    """

    new_version: str
    old_version: str | None = None
    tests_added: list[str] = field(default_factory=list)
    tests_removed: list[str] = field(default_factory=list)
    points: list[Change] = field(default_factory=list)  # per group, its total
    moved: list[Change] = field(default_factory=list)  # per test, its group
    visibility: list[Change] = field(default_factory=list)  # per group
    limits: list[Change] = field(default_factory=list)
    schedule: list[Change] = field(default_factory=list)
    settings: list[Change] = field(default_factory=list)
    starter: FileChanges = field(default_factory=FileChanges)
    hidden: FileChanges = field(default_factory=FileChanges)

    @property
    def first(self) -> bool:
        return self.old_version is None

    @property
    def unchanged(self) -> bool:
        """True when nothing listed differs (the same content publishes as the same version)."""
        return not self.first and not any((self.tests_added, self.tests_removed, self.points, self.moved,
                                           self.visibility, self.limits, self.schedule, self.settings,
                                           self.starter, self.hidden))

    def to_dict(self, staff: bool = True) -> dict:
        """The diff as JSON; without ``staff`` the hidden test files are only counted."""
        def changes(items: list[Change]) -> list[dict]:
            return [{"key": c.key, "old": c.old, "new": c.new} for c in items]

        hidden = self.hidden.to_dict() if staff else {k: len(v) for k, v in self.hidden.to_dict().items()}
        return {"first_release": self.first, "unchanged": self.unchanged, "old_version": self.old_version,
                "new_version": self.new_version,
                "tests": {"added": self.tests_added, "removed": self.tests_removed},
                "points": changes(self.points), "moved": changes(self.moved),
                "visibility": changes(self.visibility), "limits": changes(self.limits),
                "schedule": changes(self.schedule), "settings": changes(self.settings),
                "starter_files": self.starter.to_dict(), "hidden_test_files": hidden}


def read_release(autograder_dir: Path, starter_zip: bytes) -> Contents:
    """Read what ``compare`` needs from an autograder folder and its starter zip's bytes.

    Raises:
        ReleaseDiffError: the folder has no valid ``<name>/assignment.toml`` or ``test-ids.json``, or the
            zip cannot be read.
    """
    root = Path(autograder_dir)
    tomls = sorted(root.glob("*/assignment.toml"))
    if not tomls or not (root / "test-ids.json").is_file():
        raise ReleaseDiffError(f"{root.name} is not a complete release folder "
                               "(no <assignment>/assignment.toml or test-ids.json)")
    try:
        assignment = load_assignment(tomls[0].parent)
        test_ids = json.loads((root / "test-ids.json").read_text())
        points = assign_points(assignment, test_ids)
    except (AssignmentConfigError, PointsError) as error:
        raise ReleaseDiffError(f"{root.name}'s assignment.toml cannot be read: "
                               + "; ".join(error.problems)) from None
    except ValueError as error:  # test-ids.json is not JSON
        raise ReleaseDiffError(f"{root.name}/test-ids.json cannot be read: {error}") from None
    groups = {g.group: Group(0.0, str(g.visibility)) for g in assignment.points}
    for entry in points.values():
        groups[entry.group] = Group(round(groups[entry.group].points + entry.points, 6),
                                    str(entry.visibility))
    manifest = root / "release.json"
    version = (json.loads(manifest.read_text()).get("version", "unreleased") if manifest.is_file()
               else "unreleased")
    dumped = assignment.model_dump(mode="json")
    settings = _flat({key: dumped[key] for key in _SETTINGS if key in dumped})
    return Contents(name=assignment.name, version=str(version), tests={t: p.group for t, p in points.items()},
                    groups=groups, limits=dumped.get("limits") or {}, schedule=dumped.get("schedule") or {},
                    settings=settings, starter_files=_zip_hashes(starter_zip, root.name),
                    hidden_files=_folder_hashes(assignment.root / assignment.tests.hidden))


def compare(old: Contents | None, new: Contents) -> ReleaseDiff:
    """What ``new`` changes against ``old`` (None: nothing published yet, so ``first``)."""
    if old is None:
        return ReleaseDiff(new_version=new.version)
    both = [t for t in new.tests if t in old.tests]
    return ReleaseDiff(
        new_version=new.version, old_version=old.version,
        tests_added=[t for t in new.tests if t not in old.tests],
        tests_removed=[t for t in old.tests if t not in new.tests],
        points=_changed({g: v.points for g, v in old.groups.items()},
                        {g: v.points for g, v in new.groups.items()}),
        moved=[Change(t, old.tests[t], new.tests[t]) for t in both if old.tests[t] != new.tests[t]],
        # A group added or removed shows under points, not here.
        visibility=[c for c in _changed({g: v.visibility for g, v in old.groups.items()},
                                        {g: v.visibility for g, v in new.groups.items()})
                    if c.old is not None and c.new is not None],
        limits=_changed(old.limits, new.limits), schedule=_changed(old.schedule, new.schedule),
        settings=_changed(old.settings, new.settings),
        starter=_files(old.starter_files, new.starter_files),
        hidden=_files(old.hidden_files, new.hidden_files))


def _changed(old: dict, new: dict) -> list[Change]:
    keys = list(old) + [k for k in new if k not in old]
    return [Change(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


def _files(old: dict[str, str], new: dict[str, str]) -> FileChanges:
    return FileChanges(added=sorted(set(new) - set(old)), removed=sorted(set(old) - set(new)),
                       changed=sorted(p for p in set(old) & set(new) if old[p] != new[p]))


def _flat(values: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _zip_hashes(data: bytes, release: str) -> dict[str, str]:
    """Each file of the starter zip by its path below the zip's top folder (``<name>-starter/``)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {info.filename: hashlib.sha256(archive.read(info)).hexdigest()
                     for info in archive.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, OSError) as error:
        raise ReleaseDiffError(f"the starter zip of {release} cannot be read: {error}") from None
    return {name.split("/", 1)[1] if "/" in name else name: sha for name, sha in sorted(files.items())}


def _folder_hashes(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and not set(_SKIPPED_PARTS) & set(path.relative_to(folder).parts)}
