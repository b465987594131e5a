"""Which other assignments' published starters a change to the shared reference would change (gate notes)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.build import build_trees, ownership
from grader.authoring.config import AssignmentConfigError, discover_assignments, load_assignment


@dataclass(frozen=True)
class Published:
    """A published starter zip: its bytes, and a label naming the version (a version hash, or the zip's
    path)."""

    zip_bytes: bytes
    label: str


def zips_in(out: Path) -> dict[str, Published]:
    """The starter zips ``beras-grader release`` left in ``out``: assignment name ->
    ``<name>-starter.zip``."""
    found = {}
    for path in sorted(Path(out).glob("*-starter.zip")) if Path(out).is_dir() else []:
        found[path.name.removesuffix("-starter.zip")] = Published(path.read_bytes(), str(path))
    return found


def package_in_zip(zip_bytes: bytes) -> dict[str, bytes]:
    """The ``beras/`` files of a starter zip (``<top>/beras/<path>``), by path inside the package."""
    files = {}
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if len(parts) > 2 and parts[1] == "beras" and not name.endswith("/"):
                files["/".join(parts[2:])] = archive.read(name)
    return files


def changes(starter: Mapping[str, str], published: Mapping[str, bytes]) -> list[str]:
    """The files that differ between a starter tree built now and a published one: ``path added`` and so
    on."""
    now = {rel: text.encode("utf-8", errors="surrogateescape") for rel, text in starter.items()}
    found = [f"{rel} added" for rel in sorted(now.keys() - published.keys())]
    found += [f"{rel} removed" for rel in sorted(published.keys() - now.keys())]
    found += [f"{rel} changed" for rel in sorted(now.keys() & published.keys()) if now[rel] != published[rel]]
    return found


def notes(assignments_dir: Path, reference: Path, releasing: str,
          published: Mapping[str, Published]) -> list[str]:
    """One note per other assignment whose published starter the current reference would change.

    Args:
        assignments_dir: the folder of assignment folders.
        reference: the marked reference package.
        releasing: the assignment being released (left out: its own change is the point of the release).
        published: each other assignment's published starter.

    Returns:
        Lines such as "this reference changes beras-cnn's starter (published 3f2a…): layers/dropout.py added,
        __init__.py changed; re-release it". An assignment that cannot be built now gets a line saying so.
    """
    lines = []
    folders = discover_assignments(assignments_dir)
    for name, zipped in sorted(published.items()):
        if name == releasing or name not in folders:
            continue
        try:
            other = load_assignment(folders[name], reference_root=reference)
            owners = ownership(assignments_dir, reference, name, published.keys()).owners
        except AssignmentConfigError as error:
            lines.append(f"cannot tell whether this reference changes {name}'s published starter: {name} is "
                         f"invalid ({len(error.problems)} problem(s)); run `beras-grader check {name}`")
            continue
        trees = build_trees(other, reference, owners)
        try:
            differ = changes(trees.starter, package_in_zip(zipped.zip_bytes))
        except zipfile.BadZipFile:
            lines.append(f"{name}'s published starter ({zipped.label}) is not a zip; cannot compare it")
            continue
        if differ:
            lines.append(f"this reference changes {name}'s starter (published {zipped.label}): "
                         f"{', '.join(differ)}; re-release {name} so its students get the same files it "
                         "grades with")
    return lines
