"""Sample submissions of an assignment: the reference, the untouched starter, planted bugs, degenerates.

``assignments/<name>/samples/*.toml`` each describe a submission as the reference solution
with bugs planted by exact text replacement, and the point groups those bugs must cost::

    description = "..."
    [[bugs]]
    file = "activations.py"        # a file the students own
    find = "..."                   # text that occurs exactly once in the reference file
    replace = "..."
    groups = ["Activations"]       # the groups that must lose points because of it

``assignments/<name>/degenerate/<case>/`` are hand-written submissions that must earn nothing
(``grader.authoring.degenerate``); ``degenerates`` zips them the same way.
"""

from __future__ import annotations

import io
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.degenerate import Base, load_cases
from grader.authoring.released import Released
from grader.result import GradeResult


class SampleError(Exception):
    """A sample's file is malformed or no longer matches the reference; the message says where."""


@dataclass(frozen=True)
class Sample:
    """One sample submission: its name, zip bytes, the groups it should lose points in (None: all or none)."""

    name: str
    description: str
    zip_bytes: bytes
    losing_groups: tuple[str, ...] | None


def build_zip(files: dict[str, str | bytes], top: str = "submission") -> bytes:
    """A zip holding ``files`` (names inside the zip, e.g. ``beras/losses.py``) under one top folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{top}/{name}" if top else name, content)
    return buffer.getvalue()


def _zip(files: dict[str, str]) -> bytes:
    """A submission zip of package files given by their path inside ``beras/``."""
    return build_zip({f"beras/{rel}": text for rel, text in files.items()})


def reference_files(released: Released) -> dict[str, str]:
    return {rel: (released.reference / rel).read_text() for rel in released.assignment.files.owned}


def planted(released: Released, path: Path) -> Sample:
    """The sample ``path`` describes, built from the release's reference."""
    try:
        spec = tomllib.loads(path.read_text())
        bugs = spec["bugs"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as error:
        raise SampleError(f"{path}: not a sample file ({error}); "
                          "expected `description` and [[bugs]]") from None
    files = reference_files(released)
    groups: list[str] = []
    for number, bug in enumerate(bugs, start=1):
        rel, find, replace = bug.get("file"), bug.get("find"), bug.get("replace")
        if rel not in files:
            raise SampleError(f"{path}: bug {number}: {rel!r} is not a file the students own "
                              f"({', '.join(files)})")
        count = files[rel].count(find or "\0")
        if count != 1:
            raise SampleError(f"{path}: bug {number}: the text to replace occurs {count} times in {rel}; "
                              "it must occur exactly once (did the reference change?)")
        files[rel] = files[rel].replace(find, replace)
        groups += bug.get("groups", [])
    return Sample(path.stem, spec.get("description", ""), _zip(files), tuple(dict.fromkeys(groups)))


def samples(released: Released) -> list[Sample]:
    """The reference solution, the starter, then every planted-bug sample of the assignment."""
    reference = Sample("reference", "the reference solution", _zip(reference_files(released)), ())
    starter_files = {rel: (released.starter / rel).read_text() for rel in released.assignment.files.owned}
    starter = Sample("starter", "the untouched starter", _zip(starter_files), None)
    folder = released.assignment_dir / "samples"
    found = [planted(released, path) for path in sorted(folder.glob("*.toml"))] if folder.is_dir() else []
    return [reference, starter, *found]


def degenerates(released: Released) -> list[Sample]:
    """The assignment's hand-written degenerate submissions, zipped as a student would send them.

    ``losing_groups`` is None for a case that must earn nothing at all, else the groups it must
    earn nothing in.

    Raises:
        DegenerateError: for a malformed case (the release gate reports it first).
    """
    assignment = released.assignment
    owned = list(assignment.files.owned)
    starter = {rel: (released.starter / rel).read_text() for rel in owned}
    found = []
    for case in load_cases(released.assignment_dir, owned, [group.group for group in assignment.points]):
        base = reference_files(released) if case.base is Base.REFERENCE else starter
        found.append(Sample(case.name, case.description, _zip({**base, **case.files}), case.groups or None))
    return found


def lost_groups(result: GradeResult) -> list[str]:
    """The point groups in which a graded result lost points."""
    return result.lost_groups()


def check_samples(released: Released, folder: Path) -> tuple[list[Sample], list[str]]:
    """The reference, the starter and each planted-bug sample of ``folder``; the broken samples' errors.

    Unlike ``samples()``, one stale sample does not hide the others (``beras-grader check`` lists them all),
    and its error names the file in the assignment folder ``folder``, not in the staged copy.
    """
    owned = released.assignment.files.owned
    batch = [Sample("reference", "the reference solution", _zip(reference_files(released)), ()),
             Sample("starter", "the untouched starter",
                    _zip({rel: (released.starter / rel).read_text() for rel in owned}), None)]
    broken = []
    for path in sorted((folder / "samples").glob("*.toml")) if (folder / "samples").is_dir() else []:
        try:
            batch.append(planted(released, path))
        except SampleError as error:
            broken.append(str(error))
    return batch, broken
