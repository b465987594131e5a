"""Paths as staff see them: under the assignments folder, data dir or reference, never the server's layout."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from grader.settings import Settings


def _places(settings: Settings) -> list[tuple[str, str]]:
    """``(how the server may write a folder, how staff see it)``, longest first: the deepest folder wins."""
    shown_as = ((settings.assignments_dir, "assignments"), (settings.reference, "beras"),
                (settings.data_dir, "data"))
    cwd = Path.cwd()
    places: dict[str, str] = {}
    for folder, label in shown_as:
        absolute = folder if folder.is_absolute() else cwd / folder
        for form in {str(absolute), os.path.abspath(absolute), os.path.realpath(absolute)}:
            places.setdefault(form, label)
            # Messages from the authoring code show paths relative to the working folder when they lie in it.
            relative = os.path.relpath(form, cwd)
            if not relative.startswith(".."):
                places.setdefault(relative, label)
    places.pop(".", None)
    return sorted(places.items(), key=lambda item: len(item[0]), reverse=True)


def scrub(text: str, settings: Settings) -> str:
    """``text`` with each path under the assignments folder, reference or data dir shown from that folder.

    ``/srv/course/assignments/beras-rnn/assignment.toml`` becomes ``assignments/beras-rnn/assignment.toml``,
    ``/var/lib/grader/releases/...`` becomes ``data/releases/...``, and a gate's staging folder
    (``/tmp/beras-release-x1y2/``) is dropped from the paths under it.

    Args:
        text: a message for staff.
        settings: where the folders are.

    Returns:
        The message with those paths rewritten.
    """
    for written, label in _places(settings):
        text = re.sub(rf"(?<![\w./-]){re.escape(written)}(?=/|$|[^\w.-])", label, text)
    staging = re.escape(os.path.realpath(tempfile.gettempdir()))
    return re.sub(rf"(?:{staging}|{re.escape(tempfile.gettempdir())})/beras-(?:release|stage)-\w+/", "", text)


def scrub_all(value: Any, settings: Settings) -> Any:
    """``scrub`` applied to every string inside ``value`` (a gate report's dict and lists)."""
    if isinstance(value, str):
        return scrub(value, settings)
    if isinstance(value, dict):
        return {key: scrub_all(item, settings) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_all(item, settings) for item in value]
    return value


def shown(path: Path, settings: Settings) -> str:
    """``path`` as staff see it: from the assignments folder, the reference or the data dir (see ``scrub``);
    its name alone when it lies under none of them."""
    text = scrub(os.path.abspath(path), settings)
    return Path(text).name if os.path.isabs(text) else text
