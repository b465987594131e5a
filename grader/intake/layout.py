"""Where the owned files sit in the zip: under "beras/" or at its root, maybe in one wrapping folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grader.intake.archive import Entry
from grader.intake.errors import IntakeError
from grader.intake.names import FOLDER, clutter_reason

NOT_OWNED = "not a file you own in this assignment"


@dataclass(frozen=True)
class Layout:
    """The zip's entries sorted into kept and ignored.

    Attributes:
        kept: the entry holding each owned file found, by owned path, in ``owned`` order.
        ignored: ``(name in the zip, why)`` for every other entry, in zip order.
    """

    kept: dict[str, Entry]
    ignored: tuple[tuple[str, str], ...]


def locate_owned(entries: Sequence[Entry], owned: Sequence[str], package: str) -> Layout:
    """Find each owned file among the entries.

    An owned file ``rel`` is accepted as ``<package>/<rel>`` or, for a zip of the package's
    contents, as ``<rel>``. When every entry sits in one top folder other than the package
    (Finder's "Compress my-work" gives ``my-work/beras/...``), that folder is stripped too, unless
    the names as they are match as many owned files (a zip of ``layers/dense.py`` alone is not
    wrapped in a folder "layers").

    Args:
        entries: the vetted entries, in zip order.
        owned: the owned paths inside the package, e.g. ``"layers/dense.py"``.
        package: the package's folder name, e.g. ``"beras"``.

    Returns:
        The kept entries by owned path, and the ignored ones with the reason.

    Raises:
        IntakeError: one owned file is in the zip twice (``beras/<rel>`` and ``<rel>``).
    """
    ignored: dict[str, str] = {}
    for entry in entries:
        # Clutter first: Finder's "__MACOSX/" folder entries must not count as a top folder below.
        reason = clutter_reason(entry.path) or (FOLDER if entry.is_folder else None)
        if reason:
            ignored[entry.name] = reason
    candidates = [entry for entry in entries if entry.name not in ignored]
    top = _common_top([entry for entry in entries if ignored.get(entry.name, FOLDER) == FOLDER])
    depths = [0] if top is None or top == package else [0, 1]
    # max() keeps the first of equals: the names as they are win a tie with the stripped ones.
    found = max((_match(candidates, owned, package, depth) for depth in depths), key=len)
    for rel, twice in found.items():
        if len(twice) > 1:
            names = " and ".join(repr(entry.name) for entry in twice)
            raise IntakeError(f"the zip holds your {package}/{rel} twice: {names}; keep only one "
                              f"(at {package}/{rel}) and make the zip again")
    kept = {rel: found[rel][0] for rel in owned if rel in found}
    kept_names = {entry.name for entry in kept.values()}
    for entry in candidates:
        if entry.name not in kept_names:
            ignored[entry.name] = NOT_OWNED
    order = {entry.name: index for index, entry in enumerate(entries)}
    return Layout(kept, tuple(sorted(ignored.items(), key=lambda item: order[item[0]])))


def _common_top(entries: Sequence[Entry]) -> str | None:
    """The one top folder every entry is inside, or None (a file at the top, or several tops)."""
    tops = {entry.path.split("/", 1)[0] for entry in entries}
    inside = all("/" in entry.path or entry.is_folder for entry in entries)
    return tops.pop() if len(tops) == 1 and inside else None


def _match(candidates: Sequence[Entry], owned: Sequence[str], package: str,
           depth: int) -> dict[str, list[Entry]]:
    """The candidates matching each owned path once ``depth`` leading folders are dropped."""
    wanted = set(owned)
    found: dict[str, list[Entry]] = {}
    for entry in candidates:
        parts = entry.path.split("/")[depth:]
        rel = "/".join(parts[1:] if parts[0] == package else parts)
        if rel in wanted:
            found.setdefault(rel, []).append(entry)
    return found
