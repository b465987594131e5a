"""Entry names: turning a name stored in a zip into a safe relative path, and spotting clutter to ignore."""

from __future__ import annotations

import re
import unicodedata

from grader.intake.errors import IntakeError

# Reasons shown to the student next to each ignored entry.
FOLDER = "a folder"
MACOS_METADATA = "macOS Finder metadata"
BYTECODE = "Python bytecode cache"

_DRIVE = re.compile(r"[A-Za-z]:")  # "C:\x" and the drive-relative "C:x"
_REFUSED_CATEGORIES = {"Cc": "a control character", "Cs": "an undecodable byte (a lone surrogate)"}


def entry_path(name: str) -> tuple[str, bool]:
    """Check one name as stored in the zip and turn it into a relative POSIX path.

    Backslashes count as separators first: some Windows tools write ``beras\\layers\\dense.py``.
    Empty and ``.`` parts are dropped, so ``a//b`` and ``./a/b`` both become ``a/b``.

    Args:
        name: the entry's name as the zip stores it (``ZipInfo.orig_filename``, before Python cuts it
            at a NUL).

    Returns:
        ``(path, named_as_folder)``: the normalised path, without a trailing slash, and whether the
        name ended with a separator (the zip convention for a folder entry).

    Raises:
        IntakeError: the name is empty, holds a control character, NUL or surrogate, is absolute
            (``/x``, ``C:\\x``, ``\\\\server\\x``), has a ``..`` part, or names nothing.
    """
    if not name:
        raise IntakeError("the zip has an entry with an empty name; make the zip again with a standard tool "
                          "(e.g. the starter's make_submission.py)")
    for char in name:
        what = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if what:
            raise IntakeError(f"the zip has an entry whose name contains {what}: {name!r}; rename the file "
                              "to plain letters, digits, '_', '-' and '.' and make the zip again")
    path = name.replace("\\", "/")
    if path.startswith("/") or _DRIVE.match(path):
        raise IntakeError(f"the zip has an entry with an absolute path: {name!r}; paths in the zip must be "
                          "relative, e.g. 'beras/layers/dense.py'")
    parts = path.split("/")
    if ".." in parts:
        raise IntakeError(f"the zip has an entry whose path goes up a folder ('..'): {name!r}; paths in the "
                          "zip must stay inside it, e.g. 'beras/layers/dense.py'")
    kept = [part for part in parts if part not in ("", ".")]
    if not kept:
        raise IntakeError(f"the zip has an entry that names no file or folder: {name!r}; make the zip again "
                          "with a standard tool")
    return "/".join(kept), path.endswith("/")


def clutter_reason(path: str) -> str | None:
    """Why a file entry is clutter that tools add without asking, or None for a real file.

    Args:
        path: a normalised entry path (see ``entry_path``).

    Returns:
        ``MACOS_METADATA`` for ``__MACOSX/...``, ``.DS_Store`` and ``._*`` AppleDouble files,
        ``BYTECODE`` for ``__pycache__/...`` and ``*.pyc``, else None.
    """
    parts = path.split("/")
    base = parts[-1]
    if "__MACOSX" in parts or base == ".DS_Store" or base.startswith("._"):
        return MACOS_METADATA
    if "__pycache__" in parts or base.endswith(".pyc"):
        return BYTECODE
    return None
