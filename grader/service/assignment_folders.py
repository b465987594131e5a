"""Assignment folders for TAs: look one up, create one (a copy or a scaffold), list, archive, delete."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from grader.authoring.config import CONFIG_FILE, AssignmentConfigError, discover_assignments, load_assignment
from grader.authoring.scaffold import DEFAULT_LIMITS
from grader.service.errors import Conflict, Invalid, NotFound, Unprocessable
from grader.service.paths import scrub, shown
from grader.settings import Settings

# A folder to look up: what release_assignment accepts too. Anything else ('/', '..') never reaches the disk.
_LOOKUP_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
# A new folder: the schema's rule for `name` (no '_'), so the assignment created can be valid.
_NEW_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
# Never copied into a new assignment: caches, and the temporary files of a save in progress.
_NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", f".{CONFIG_FILE}.*")

_SCAFFOLD = '''\
# A new assignment, not released yet. Fill in [files] and the [[points]] groups, write the tests in
# public_tests/ and hidden_tests/, then release it. Every key is described in assignments/SCHEMA.md.
# On the command line, `beras-grader new NAME` writes a scaffold (and a marked layer) that passes the gate as
# is.
name = ""
title = ""
queue = "cpu"            # "gpu": graded by workers that give the sandbox a GPU
gpu_variant = "none"
free_points = 0

[files]
# The reference package's files that students write, as paths inside the package, e.g.
# owned = ["layers/dense.py", "activations.py"]. At least one is required: until it is filled in,
# this file is reported as invalid.
owned = []

[tests]
public = "public_tests"  # shipped in the starter
hidden = "hidden_tests"  # never shipped

# Every test id must be matched by exactly one [[points]] group, and every group must match a test.
# A group for the public tests, once there are some:
# [[points]]
# group = "Sanity checks"
# tests = ["public_tests/*"]
# points = 10
# visibility = "visible_until_due_date"

[[points]]
group = "Hidden tests"
tests = ["hidden_tests/*"]
points = 100
visibility = "after_due_date"

''' + DEFAULT_LIMITS + '''
# No [schedule] yet: set the due date in the assignment's settings.
'''

_README = {
    "public_tests": "# Public tests\n\nThe sanity checks students get in the starter and can run themselves "
                    "(`test_*.py` files, run by pytest).\nTheir ids start with `public_tests/`; give them a "
                    "[[points]] group in assignment.toml.\n",
    "hidden_tests": "# Hidden tests\n\nThe tests that grade submissions; they are never shipped to students "
                    "(`test_*.py` files, run by pytest).\nTheir ids start with `hidden_tests/`, e.g. "
                    "`hidden_tests/test_dense.py::test_forward`.\n",
}


def assignment_file(settings: Settings, name: str) -> Path:
    """The assignment.toml of the assignment folder ``name``.

    Args:
        settings: the service's settings (``assignments_dir``).
        name: the folder's name, as sent by a client.

    Returns:
        ``<assignments_dir>/<name>/assignment.toml``, which exists.

    Raises:
        ServiceError: 400 when ``name`` is not an assignment name, 404 when there is no such assignment.
    """
    if not isinstance(name, str) or not _LOOKUP_NAME.fullmatch(name):
        raise Invalid(f"{name!r} is not an assignment name; expected lowercase letters, digits, "
                      "'-' and '_', starting with a letter or digit, e.g. 'beras-mlp'")
    file = settings.assignments_dir / name / CONFIG_FILE
    if not file.is_file():
        raise NotFound(f"no assignment {name!r}: {shown(file, settings)} does not exist")
    return file


def create_assignment(settings: Settings, name: str, title: str, copy_from: str | None = None) -> Path:
    """Make the assignment folder ``<assignments_dir>/<name>``: a copy of another one, or a scaffold.

    The folder is built under a temporary name beside it and renamed into place at the end, so a failure
    leaves nothing half-made. A scaffold's assignment.toml is a commented template; the schema needs at
    least one owned file, which only the TA can choose, so it is reported invalid until that is filled in.

    Args:
        settings: the service's settings (``assignments_dir``).
        name: the new folder's name, which is also ``name`` in its assignment.toml.
        title: the title students see.
        copy_from: an assignment to copy (tests included, caches left out), or None for a scaffold with
            empty ``public_tests/`` and ``hidden_tests/`` folders holding a README each.

    Returns:
        The new assignment folder.

    Raises:
        ServiceError: 400 for a bad name or a blank title, 404 when ``copy_from`` does not exist, 409 when
            the folder exists already, 422 when ``copy_from``'s assignment.toml is not TOML.
    """
    if not isinstance(name, str) or not _NEW_NAME.fullmatch(name):
        raise Invalid(f"{name!r} cannot name a new assignment; expected lowercase letters, digits "
                      "and '-', starting with a letter or digit, e.g. 'beras-rnn'")
    if not isinstance(title, str) or not title.strip():
        raise Invalid(f"the title {title!r} is blank; expected the name students see, "
                      "e.g. 'Beras 3: recurrent layers'")
    source = None if copy_from is None else assignment_file(settings, copy_from).parent
    target = settings.assignments_dir / name
    if target.exists() or target.is_symlink():
        raise Conflict(f"assignment {name!r} exists already ({shown(target, settings)}); choose another name")
    if source is not None:
        try:
            document = tomlkit.parse(source.joinpath(CONFIG_FILE).read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, TOMLKitError) as error:
            raise Unprocessable(f"cannot copy {copy_from!r}: its {CONFIG_FILE} is not TOML ({error}); "
                                "fix it first") from None
    else:
        document = tomlkit.parse(_SCAFFOLD)
    document["name"] = name
    document["title"] = title.strip()

    settings.assignments_dir.mkdir(parents=True, exist_ok=True)
    # A dot name: list_assignment_folders skips it while it is being built.
    staging = Path(tempfile.mkdtemp(prefix=f".new-{name}-", dir=settings.assignments_dir))
    try:
        built = staging / name
        if source is not None:
            shutil.copytree(source, built, ignore=_NOT_COPIED)
        else:
            for folder, readme in _README.items():
                (built / folder).mkdir(parents=True)
                (built / folder / "README.md").write_text(readme)
        (built / CONFIG_FILE).write_text(tomlkit.dumps(document), encoding="utf-8")
        try:
            # mkdir claims the name (a create racing this one gets 409); rename then swaps the empty folder
            # for the finished one in one step.
            target.mkdir()
        except FileExistsError:
            raise Conflict(f"assignment {name!r} exists already ({shown(target, settings)}); choose "
                           "another name") from None
        try:
            os.rename(built, target)
        except OSError:
            target.rmdir()
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def list_assignment_folders(settings: Settings) -> list[dict]:
    """Every folder of ``assignments_dir`` with an assignment.toml, released or draft, with its problems.

    Args:
        settings: the service's settings (``assignments_dir``, and ``reference`` to check owned files).

    Returns:
        One dict per folder, sorted by name: ``name``, ``title`` (read from the file even when it is
        invalid; "" when there is none), ``path`` (as staff see it: ``assignments/<name>``), ``valid`` and
        ``problems`` (the readable
        lines of load_assignment; empty when valid). No folder of assignments: an empty list.
    """
    try:
        found = discover_assignments(settings.assignments_dir)
    except FileNotFoundError:
        return []
    listed = []
    for name, folder in found.items():
        if name.startswith("."):
            continue  # a create_assignment in progress
        try:
            title, problems = load_assignment(folder, reference_root=settings.reference).title, []
        except AssignmentConfigError as error:
            title = _raw_title(folder / CONFIG_FILE)
            problems = [scrub(line, settings) for line in error.problems]
        listed.append({"name": name, "title": title, "path": shown(folder, settings), "valid": not problems,
                       "problems": problems})
    return listed


def _raw_title(file: Path) -> str:
    """``title`` from an assignment.toml that did not validate; "" when the file cannot say."""
    try:
        title = tomllib.loads(file.read_bytes().decode("utf-8")).get("title")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    return title if isinstance(title, str) else ""


ARCHIVE_DIR = ".archive"  # under assignments_dir; discovery skips it (its name starts with '.')


def archive_assignment(settings: Settings, name: str) -> Path:
    """Move the assignment folder ``name`` to ``<assignments_dir>/.archive/<name>-<UTC timestamp>``.

    Nothing is lost: move the folder back to restore it. A published assignment may be archived too: its
    releases, submissions and grades live in the database and the blob store, not in the folder, so students
    keep their results; only a new release needs the folder back.

    Args:
        settings: the service's settings (``assignments_dir``).
        name: the assignment's folder name.

    Returns:
        The archived folder.

    Raises:
        ServiceError: 400 for a bad name, 404 when there is no such assignment.
    """
    folder = assignment_file(settings, name).parent
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = settings.assignments_dir / ARCHIVE_DIR / f"{name}-{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = 1
    while target.exists():  # two archives of one name within a second
        target = target.with_name(f"{name}-{stamp}-{suffix}")
        suffix += 1
    os.rename(folder, target)
    return target


def delete_assignment(settings: Settings, name: str, published: Collection[str]) -> None:
    """Delete the draft assignment folder ``name`` (an assignment students never had a release of).

    Args:
        settings: the service's settings (``assignments_dir``).
        name: the assignment's folder name.
        published: the assignments students have a release of (releases.published_names).

    Raises:
        ServiceError: 400 for a bad name, 404 when there is no such assignment, 409 when it is published.
    """
    folder = assignment_file(settings, name).parent
    if name in published:
        raise Conflict(f"assignment {name!r} is published: students have its starter and their "
                       "submissions are graded against it, so its folder cannot be deleted; archive it "
                       "instead (the folder moves to assignments/.archive/, the grades stay)")
    # Rename first, so a half-deleted folder is never taken for an assignment.
    doomed = Path(tempfile.mkdtemp(prefix=f".delete-{name}-", dir=settings.assignments_dir))
    os.rename(folder, doomed / name)
    shutil.rmtree(doomed)
