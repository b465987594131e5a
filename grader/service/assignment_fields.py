"""The assignment.toml settings a TA edits in a form: what they are, form strings to TOML values and back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from grader.authoring.config import Assignment, Limits, Queue, Schedule, Submissions

# The schema model of each table whose keys are editable ("" is the top level); defaults come from them.
_MODELS: dict[str, type[BaseModel]] = {"": Assignment, "limits": Limits, "schedule": Schedule,
                                       "submissions": Submissions}
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
DUE_EXAMPLE = "2026-12-11T23:59:00-05:00"
# Longer than any number a field allows: refused before int() (which gives up past 4300 digits) or float().
_NUMBER_CHARS = 40


@dataclass(frozen=True)
class EditableField:
    """One setting a form can edit.

    Attributes:
        key: its dotted key path in assignment.toml, e.g. ``"schedule.due"``.
        label: what a form shows beside it; problems with the value start with it.
        kind: ``"text"``, ``"choice"``, ``"datetime"``, ``"float"`` or ``"int"``.
        help: one or two sentences for the TA, including what an empty value means.
        choices: the values allowed, for a choice.
        default: the schema's default as a form string; "" when there is none.
    """

    key: str
    label: str
    kind: str
    help: str
    choices: tuple[str, ...] = ()
    default: str = ""

    @property
    def table(self) -> str:
        """The table holding the key ("" for the top level)."""
        return self.key.rpartition(".")[0]

    @property
    def leaf(self) -> str:
        """The key inside its table."""
        return self.key.rpartition(".")[2]


def _field(key: str, label: str, kind: str, help: str, choices: tuple[str, ...] = ()) -> EditableField:
    table, _, leaf = key.rpartition(".")
    default = _MODELS[table].model_fields[leaf].default
    shown = "" if default is PydanticUndefined or default is None else format_value(default)
    return EditableField(key, label, kind, help, choices, shown)


def format_value(value: Any) -> str:
    """A TOML value as a form shows it: datetimes in ISO 8601 with their offset, booleans as in TOML."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


EDITABLE: tuple[EditableField, ...] = (
    _field("title", "Title", "text", "The name students see."),
    _field("queue", "Queue", "choice", "The worker pool that grades submissions; gpu workers give the "
           "sandbox a GPU. Empty: cpu.", tuple(queue.value for queue in Queue)),
    _field("schedule.opens", "Opens", "datetime", f"When students may first download the starter and submit, "
           f"with the time zone's offset, e.g. {DUE_EXAMPLE}; before the due date. Needs a due date. Empty: "
           "as soon as it is published."),
    _field("schedule.due", "Due date", "datetime", f"When submissions are due, with the time zone's offset, "
           f"e.g. {DUE_EXAMPLE} (Z for UTC). Empty: no due date, and no late policy."),
    _field("schedule.late_penalty_per_day", "Late penalty per day", "float", "The fraction of the score lost "
           "per day late, from 0 to 1 (0.1 = 10% a day). Needs a due date. Empty: 0."),
    _field("schedule.last_late_day", "Last late day", "int", "Submissions more than this many days after the "
           "due date are refused; with 0 nothing is accepted after it. Needs a due date. Empty: 0."),
    _field("submissions.rate_limit_count", "Submissions per window", "int", "At most this many submissions "
           "per student in any rate-limit window. Empty: 10."),
    _field("submissions.rate_limit_window_minutes", "Rate-limit window (minutes)", "int", "The length of the "
           "window in which submissions are counted. Empty: 60."),
    _field("limits.wall_time_s", "Wall time (s)", "float", "Seconds for the whole grading run. Empty: 600."),
    _field("limits.call_time_s", "Call time (s)", "float", "Seconds for one call into student code; a call "
           "that takes longer fails its test, and grading goes on. Empty: 30."),
    _field("limits.call_time_factor", "Call time factor", "float",
           "A test's calls may take this many times the reference's longest call in that test (recorded by "
           "the release gate), within the floor and the call time. Empty: 50."),
    _field("limits.call_time_floor_s", "Call time floor (s)", "float",
           "The least a call is given, however fast the reference was. Empty: 2."),
    _field("limits.call_time_repeat_floor_s", "Repeat floor after a timeout (s)", "float", "After a method "
           "timed out, its later calls in the run get a short deadline, at least this. Empty: 0.5."),
    _field("limits.memory_mb", "Memory (MB)", "int", "Memory of the sandbox, in MB. Empty: 2048."),
    _field("limits.cpus", "CPUs", "float", "CPU quota of the sandbox (2 = two cores' worth). Empty: 2."),
    _field("limits.pids", "Processes", "int", "Processes and threads the sandbox may hold. Empty: 256."),
    _field("limits.output_kb", "Output (KB)", "int", "Output captured per test and in the logs, in KB; the "
           "rest is cut. Empty: 1024."),
)
FIELDS: dict[str, EditableField] = {field.key: field for field in EDITABLE}


def parse_value(field: EditableField, text: str) -> Any:
    """The TOML value a form string stands for; only its form is checked here, its range by the schema.

    Args:
        field: the setting.
        text: what the form sent; surrounding spaces are ignored.

    Returns:
        A str, int, float or aware datetime; the schema's default for an empty value, or None for an empty
        due date (no schedule).

    Raises:
        ValueError: the value cannot be of the field's kind; the message starts with the field's label and
            says what was expected.
    """
    value = text.strip()
    if not value and field.kind != "text":
        if field.kind == "datetime":
            return None
        return parse_value(field, field.default)
    if field.kind == "text":
        if not value:
            raise ValueError(f"{field.label}: is empty; expected the name students see, "
                             "e.g. 'Beras 1: a multilayer perceptron'")
        return value
    shown = _shown(value)
    if field.kind == "choice":
        if value not in field.choices:
            raise ValueError(f"{field.label}: {shown} is not one of {', '.join(map(repr, field.choices))}")
        return value
    if field.kind == "int":
        if not _INT.fullmatch(value) or len(value) > _NUMBER_CHARS:
            raise ValueError(f"{field.label}: {shown} is not a whole number; expected e.g. {field.default}")
        return int(value)
    if field.kind == "float":
        if not _FLOAT.fullmatch(value) or len(value) > _NUMBER_CHARS:
            raise ValueError(f"{field.label}: {shown} is not a number; expected e.g. {field.default}")
        # Whole numbers stay integers, as hand-written files have them ("cpus = 2"); the schema takes both.
        return int(value) if _INT.fullmatch(value) else float(value)
    return _parse_datetime(field, value)


def _shown(value: str) -> str:
    """A value as a message quotes it, cut short: a form field can hold megabytes."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _parse_datetime(field: EditableField, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field.label}: {_shown(value)} is not a date and time; "
                         f"expected e.g. {DUE_EXAMPLE}") from None
    if moment.utcoffset() is None:
        raise ValueError(f"{field.label}: {value!r} has no time zone offset, so it does not say which time "
                         f"zone is meant; expected e.g. {DUE_EXAMPLE} (or Z for UTC)")
    if moment.utcoffset().total_seconds() % 60:
        raise ValueError(f"{field.label}: {value!r} has an offset with seconds, which TOML cannot write; "
                         f"expected hours and minutes, e.g. {DUE_EXAMPLE}")
    return moment


def same_value(old: Any, new: Any) -> bool:
    """Whether writing ``new`` over ``old`` would change nothing a reader of the file sees.

    600 and 600.0 are the same; ``true`` and 1 are not; datetimes must agree on the instant and the offset.
    """
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, datetime) and isinstance(new, datetime):
        return old == new and old.utcoffset() == new.utcoffset()
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return old == new
    return type(old) is type(new) and old == new
