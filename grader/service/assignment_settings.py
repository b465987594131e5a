"""Edit an assignment's settings from a form: read them as strings, save them keeping the file's comments."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.toml_document import TOMLDocument

from grader.authoring.config import CONFIG_FILE, AssignmentConfigError, load_assignment
from grader.service.assignment_fields import (
    EDITABLE,
    FIELDS,
    EditableField,
    format_value,
    parse_value,
    same_value,
)
from grader.service.assignment_folders import assignment_file, create_assignment, list_assignment_folders
from grader.service.errors import Unprocessable
from grader.service.paths import scrub
from grader.settings import Settings

__all__ = ["EDITABLE", "EditableField", "SavedSettings", "create_assignment", "list_assignment_folders",
           "read_settings", "save_settings"]

_NOT_SAVED = "the settings were not saved"


@dataclass(frozen=True)
class SavedSettings:
    """What a save did.

    Attributes:
        changed: ``(key, old, new)`` for each setting whose form value changed, in EDITABLE's order;
            empty when nothing changed and nothing was written.
        problems: problems the file had before this save and still has (a draft's unfinished parts,
            e.g. no owned files yet); a save never adds one.
    """

    changed: list[tuple[str, str, str]]
    problems: list[str] = field(default_factory=list)


def read_settings(settings: Settings, name: str) -> dict[str, str]:
    """The current value of every editable setting of assignment ``name``, as a form shows it.

    Values are read from the file as written, without validating it, so a TA can see and fix a wrong one.

    Args:
        settings: the service's settings (``assignments_dir``).
        name: the assignment folder's name.

    Returns:
        Key path -> value, in EDITABLE's order: datetimes in ISO 8601 with their offset (e.g.
        ``2026-12-11T23:59:00-05:00``), the schema's default for a key the file leaves out, "" for a
        value that is not set (no title; no opening date; no [schedule], for all four schedule settings).

    Raises:
        ServiceError: 400 for an invalid name, 404 when there is no such assignment, 422 when the file is
            not TOML.
    """
    file = assignment_file(settings, name)
    return _form_values(_parse(file, file.read_bytes(), f"{name}'s {CONFIG_FILE} cannot be read").unwrap())


def save_settings(settings: Settings, name: str, values: dict[str, str]) -> SavedSettings:
    """Write the settings a form sent into assignment ``name``'s assignment.toml, if the result is valid.

    Only the values changed are written, through tomlkit, so comments and layout stay as they were. An
    empty due date removes [schedule]; a due date where there was none adds it. The new file is written
    beside the old one, checked with load_assignment, and only then moved over it; on any problem the
    original stays byte for byte as it was. Problems the file had already (a draft) do not stop a save.

    Args:
        settings: the service's settings (``assignments_dir``; ``reference`` to check the owned files).
        name: the assignment folder's name.
        values: key path (see EDITABLE) -> the form's string; keys left out are not changed.

    Returns:
        The settings changed (none, and nothing written, when every value is as it was), and the problems
        the file had before and still has.

    Raises:
        ServiceError: 400 for an invalid name; 404 when there is no such assignment; 422 "the settings were
            not saved: ..." with ``problems`` (one line per problem, starting with the setting's label) and
            ``fields`` (key path -> its problems) for unknown keys, values that are not of their kind, and
            values the schema refuses.
    """
    file = assignment_file(settings, name)
    original = file.read_bytes()
    document = _parse(file, original, _NOT_SAVED)
    before_data = document.unwrap()
    before = _form_values(before_data)

    general: list[str] = []
    by_field: dict[str, list[str]] = {}
    unknown = sorted(set(values) - FIELDS.keys(), key=str)
    if unknown:
        general.append(f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                       f"expected some of: {', '.join(FIELDS)}")
    changes = {}
    for setting in EDITABLE:
        # The value as read back is no change, even one that would not parse (a naive date in the file).
        if setting.key not in values or values[setting.key] == before[setting.key]:
            continue
        if not isinstance(values[setting.key], str):
            by_field[setting.key] = [f"{setting.label}: expected text, received {values[setting.key]!r}"]
            continue
        try:
            new = parse_value(setting, values[setting.key])
        except ValueError as error:
            by_field[setting.key] = [str(error)]
            continue
        if not same_value(_effective(before_data, setting), new):
            changes[setting.key] = new
    _apply(document, before_data, changes, by_field)

    text = tomlkit.dumps(document)
    if text == original.decode("utf-8") and not general and not by_field:
        return SavedSettings([])
    remaining = _write_checked(file, text, settings, general, by_field)
    after = _form_values(document.unwrap())
    return SavedSettings([(key, before[key], after[key]) for key in FIELDS if before[key] != after[key]],
                         remaining)


def _parse(file: Path, content: bytes, failure: str) -> TOMLDocument:
    try:
        return tomlkit.parse(content.decode("utf-8"))
    except (UnicodeDecodeError, TOMLKitError) as error:
        problem = f"{CONFIG_FILE}: not TOML text ({error}); fix the file by hand"
        raise Unprocessable(f"{failure}: {problem}", problems=[problem], fields={}) from None


def _effective(data: dict[str, Any], setting: EditableField) -> Any:
    """The setting's value in the parsed file: as written, else the schema's default; None when unset."""
    table = data.get(setting.table) if setting.table else data
    if setting.table == "schedule" and not isinstance(table, dict):
        return None  # no [schedule]: no due date, so no late policy either
    if isinstance(table, dict) and setting.leaf in table:
        return table[setting.leaf]
    return parse_value(setting, setting.default) if setting.default else None


def _form_values(data: dict[str, Any]) -> dict[str, str]:
    values = {}
    for setting in EDITABLE:
        value = _effective(data, setting)
        values[setting.key] = "" if value is None else format_value(value)
    return values


def _apply(document: TOMLDocument, before: dict[str, Any], changes: dict[str, Any],
           by_field: dict[str, list[str]]) -> None:
    """Write ``changes`` into ``document``; a change it cannot make is added to ``by_field``."""
    had_schedule = isinstance(before.get("schedule"), dict)
    has_schedule = had_schedule
    if "schedule.due" in changes:
        due = changes.pop("schedule.due")
        if due is None:
            del document["schedule"]
            has_schedule = False
        else:
            schedule = _table(document, "schedule", by_field, "schedule.due")
            if schedule is not None:
                schedule["due"] = due
                if not had_schedule:
                    # A new table states its late policy, so whoever edits the file by hand sees it.
                    for key in ("schedule.late_penalty_per_day", "schedule.last_late_day"):
                        schedule[FIELDS[key].leaf] = parse_value(FIELDS[key], FIELDS[key].default)
                has_schedule = True
    for key, value in changes.items():
        setting = FIELDS[key]
        if setting.table == "schedule" and not has_schedule:
            keep = "unchanged" if had_schedule else "empty"
            by_field[key] = [f"{setting.label}: applies only with a due date; set the due date too, or leave "
                             + f"this {keep}"]
            continue
        table = _table(document, setting.table, by_field, key) if setting.table else document
        if table is not None and value is None:
            table.pop(setting.leaf, None)  # an empty optional date (opens): the key goes
        elif table is not None:
            table[setting.leaf] = value


def _table(document: TOMLDocument, name: str, by_field: dict[str, list[str]], key: str) -> Any:
    """The table ``name`` of ``document``, added when missing; None (and a problem) when it is not a table."""
    if name not in document:
        document[name] = tomlkit.table()
    table = document[name]
    if not isinstance(table, dict):
        by_field[key] = [f"{FIELDS[key].label}: {name} in {CONFIG_FILE} is not a table; expected a "
                         + f"[{name}] section; fix the file by hand"]
        return None
    return table


def _write_checked(file: Path, text: str, settings: Settings, general: list[str],
                   by_field: dict[str, list[str]]) -> list[str]:
    """Replace ``file`` with ``text`` if that adds no problem; raise 422 with every problem otherwise.

    Returns:
        The problems the file had before and still has.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{CONFIG_FILE}.", suffix=".tmp", dir=file.parent)
    temporary = Path(temporary)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        shutil.copymode(file, temporary)
        found = _problems(temporary, settings)
        had = _problems(file, settings) if found else []
        kept = [problem for problem in found if problem in had]
        for problem in found:
            if problem not in kept:
                _attach(problem, general, by_field)
        if general or by_field:
            problems = general + [line for setting in EDITABLE for line in by_field.get(setting.key, [])]
            raise Unprocessable(f"{_NOT_SAVED}: " + "; ".join(problems), problems=problems,
                                fields=by_field)
        os.replace(temporary, file)
    finally:
        temporary.unlink(missing_ok=True)
    return [f"{CONFIG_FILE}: {problem}" for problem in kept]


def _problems(file: Path, settings: Settings) -> list[str]:
    """load_assignment's problems with ``file`` as 'key: what is wrong', without the file's path (and any
    other path as staff see it)."""
    try:
        load_assignment(file, reference_root=settings.reference)
    except AssignmentConfigError as error:
        return [scrub(problem.partition(f"{file.name}: ")[2] or problem, settings)
                for problem in error.problems]
    return []


def _attach(problem: str, general: list[str], by_field: dict[str, list[str]]) -> None:
    """File a schema problem ('schedule.due: expected ...') under its setting, worded with the label."""
    where, _, what = problem.partition(": ")
    setting = FIELDS.get(where)
    if setting is None:
        general.append(f"{CONFIG_FILE}: {problem}")
    else:
        by_field.setdefault(setting.key, []).append(f"{setting.label}: {what}")
