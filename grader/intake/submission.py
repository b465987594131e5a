"""read_submission and Intake: a submission zip checked and reduced to the owned files it holds."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from grader.intake.archive import Entry, load_bytes, open_zip, vet_entries
from grader.intake.directory import check_directory
from grader.intake.errors import IntakeError
from grader.intake.layout import locate_owned
from grader.intake.limits import DEFAULT_LIMITS, IntakeLimits
from grader.intake.names import FOLDER
from grader.intake.reading import check_declared, read_kept

_SHOWN = 5  # names listed per group in messages before "and N more"


@dataclass(frozen=True)
class Intake:
    """The owned files found in a submission, and what was left out.

    Attributes:
        files: content of each owned file found, by its path inside the package
            (``"layers/dense.py"``), in the assignment's order.
        missing: owned paths the zip does not hold; grading fails only the tests that need them.
        ignored: ``(name in the zip, why)`` for every other entry: folders, macOS metadata,
            bytecode, and files the student does not own.
        package: the package folder the files belong in, e.g. ``"beras"``.
    """

    files: dict[str, bytes]
    missing: tuple[str, ...]
    ignored: tuple[tuple[str, str], ...]
    package: str = "beras"

    def texts(self) -> dict[str, str]:
        """The owned files as text, undecodable bytes replaced: what a person reads or a comparison sees."""
        return {rel: data.decode("utf-8", errors="replace") for rel, data in self.files.items()}

    def summary(self) -> str:
        """What was taken, missing and ignored, in one line for the student.

        Returns:
            e.g. ``"2 files taken: beras/losses.py, beras/onehot.py; missing: beras/model.py; ignored:
            notes.txt (not a file you own in this assignment)"``. Folder entries are not listed:
            a folder holds no content of its own.
        """
        parts = [f"{len(self.files)} file{'' if len(self.files) == 1 else 's'} taken: "
                 + ", ".join(f"{self.package}/{rel}" for rel in self.files)]
        if self.missing:
            parts.append("missing: " + ", ".join(f"{self.package}/{rel}" for rel in self.missing))
        groups: dict[str, list[str]] = {}
        for name, why in self.ignored:
            if why != FOLDER:
                groups.setdefault(why, []).append(name)
        if groups:
            parts.append("ignored: " + "; ".join(f"{_some(names)} ({why})" for why, names in groups.items()))
        return "; ".join(parts)


def read_submission(source: bytes | os.PathLike[str], owned: Sequence[str],
                    limits: IntakeLimits = DEFAULT_LIMITS, *, package: str = "beras") -> Intake:
    """Check a submission zip and take the owned files out of it; nothing is written anywhere.

    The declared entry count and directory size are checked before the zip is parsed; every entry's name,
    type and header is checked before anything is decompressed, and only the
    owned files are decompressed, each through a reader that stops past ``limits.max_file_bytes``.

    Args:
        source: the zip's bytes (an upload), or the path of a zip file.
        owned: the paths inside the package the student writes, e.g.
            ``load_assignment(path).files.owned``.
        limits: the caps on sizes and counts.
        package: the package's folder name, as the starter's make_submission.py writes it.

    Returns:
        The owned files found, those missing, and the entries ignored with the reason.

    Raises:
        IntakeError: the submission is refused; its message tells the student what was wrong and
            what was expected: a name, type or size rule broken (see
            ``archive``, ``names`` and ``reading``), an owned file in the zip twice, or no owned file.
    """
    data, label = load_bytes(source, limits)
    check_directory(data, limits)  # before zipfile builds a header object for every entry
    with open_zip(data, label) as archive:
        entries = vet_entries(archive, limits)
        layout = locate_owned(entries, owned, package)
        if not layout.kept:
            raise _nothing_owned(label, entries, owned, package)
        check_declared(layout.kept, limits)
        files = read_kept(archive, layout.kept, limits)
    missing = tuple(rel for rel in owned if rel not in files)
    return Intake(files, missing, layout.ignored, package)


def _nothing_owned(label: str, entries: Sequence[Entry], owned: Sequence[str], package: str) -> IntakeError:
    """The refusal of a zip without any owned file, naming what was expected and what was found."""
    expected = _some([f"{package}/{rel}" for rel in owned])
    files = [entry for entry in entries if not entry.is_folder]
    found = f"it holds {_some([entry.name for entry in files])}" if files else "it holds no files at all"
    # A zip of a folder two levels above the package: say where the package was, the likely fix.
    deep = next((entry.name for entry in files for rel in owned
                 if entry.path.endswith(f"/{package}/{rel}")), None)
    hint = ""
    if deep is not None:
        hint = (f". Your files are there but too deep (e.g. {deep!r}): zip the {package} folder itself, "
                f"so that the zip holds {package}/{owned[0]}")
    return IntakeError(f"{label} holds none of the files you write in this assignment: expected "
                       f"{expected}, at those paths inside the zip; {found}{hint}")


def _some(names: Sequence[str]) -> str:
    """The first few names, then how many more."""
    shown = ", ".join(names[:_SHOWN])
    return shown if len(names) <= _SHOWN else f"{shown} and {len(names) - _SHOWN} more"
