"""Turn pydantic's validation errors on the assignment.toml schema into lines a TA can act on."""

from __future__ import annotations

import difflib
import re
import types
from datetime import date, datetime, time
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types as at
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

OWN_ERROR = "assignment_config"  # pydantic error type of the schema's own checks: message shown as is
# A value of the right type: no "(a string)" after it.
_QUIET = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number", "too_short",
          "string_too_short", "string_too_long", "timezone_aware"}


def dotted(loc: tuple[str | int, ...]) -> str:
    """('points', 1, 'visibility') -> 'points[1].visibility'."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return text.lstrip(".") or "(top level)"


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """Strip Optional and Annotated from ``annotation``, adding their constraints to ``metadata``."""
    while get_origin(annotation) in (Annotated, Union, types.UnionType):
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                metadata = metadata + (item.metadata if isinstance(item, FieldInfo) else [item])
        else:
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    return annotation, metadata


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _item(annotation: Any) -> Any:
    """The item type of ``tuple[X, ...]``, without Annotated."""
    return _unwrap(get_args(annotation)[0], [])[0]


def _field_at(loc: tuple[str | int, ...], root: type[BaseModel]) -> tuple[Any, list[Any]]:
    """The annotation and constraints of the value at ``loc`` in ``root``; (None, []) if there is none."""
    annotation, metadata = root, []
    for part in loc:
        annotation, _ = _unwrap(annotation, [])
        if isinstance(part, int) and get_origin(annotation) is tuple:
            annotation, metadata = get_args(annotation)[0], []
        elif _is_model(annotation) and part in annotation.model_fields:
            field = annotation.model_fields[part]
            annotation, metadata = field.annotation, field.metadata
        else:
            return None, []
    return _unwrap(annotation, list(metadata))


def unknown_key(loc: tuple[str | int, ...], root: type[BaseModel]) -> str:
    """Why the key at ``loc`` in ``root`` is refused: the keys allowed there (not 'root'), a likely fix."""
    model, _ = _field_at(loc[:-1], root)
    allowed = sorted(key for key in model.model_fields if key != "root") if _is_model(model) else []
    table = loc[:-1]
    where = ("at the top level" if not table else
             f"in [[{dotted(table[:-1])}]]" if isinstance(table[-1], int) else f"in [{dotted(table)}]")
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key (allowed {where}: {', '.join(allowed)}){guess}"


def _describe(annotation: Any, metadata: list[Any]) -> str:
    """What a valid value looks like, in words: 'an integer > 0', "one of 'cpu', 'gpu'"."""
    non_empty = "non-empty " if any(isinstance(m, at.MinLen) for m in metadata) else ""
    if get_origin(annotation) is tuple:
        return f"a {non_empty}list of {'tables' if _is_model(_item(annotation)) else 'strings'}"
    if annotation is AwareDatetime:
        return "a date-time with a UTC offset, e.g. 2026-12-04T23:59:00-05:00"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(repr(member.value) for member in annotation)
    if _is_model(annotation) or annotation is str:
        longest = next((m.max_length for m in metadata if isinstance(m, at.MaxLen)), None)
        return ("a table" if _is_model(annotation) else f"a {non_empty}string"
                + (f" of at most {longest} characters" if longest is not None else ""))
    bounds = {type(m).__name__: _number(getattr(m, type(m).__name__.lower())) for m in metadata
              if isinstance(m, (at.Gt, at.Ge, at.Lt, at.Le))}
    base = {int: "an integer", float: "a number"}.get(annotation, getattr(annotation, "__name__", "a value"))
    if "Ge" in bounds and "Le" in bounds:
        return f"{base} between {bounds['Ge']} and {bounds['Le']}"
    signs = {"Gt": ">", "Ge": ">=", "Lt": "<", "Le": "<="}
    if not bounds:
        return base
    return f"{base} " + " and ".join(f"{signs[key]} {bound}" for key, bound in bounds.items())


def _number(value: float) -> str:
    """A bound as people write it: ``86400`` and ``0.5``, never ``86400.0`` or ``1.04858e+06``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _render(value: Any) -> str:
    """``value`` roughly as TOML writes it, cut to a readable length."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (datetime, date, time)):
        text = value.isoformat()
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(map(_render, value)) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{key} = {_render(item)}" for key, item in value.items()) + "}"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_KINDS = ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
          (datetime, "a date-time"), (date, "a date without a time"), (time, "a time"), (list, "a list"),
          (dict, "a table"))
_NUMBER = re.compile(r"\s*[-+]?[\d_.]+(e[-+]?\d+)?\s*", re.IGNORECASE)


def _kind(value: Any, annotation: Any) -> str:
    """The TOML type of ``value``, plus the fix of a common slip ("write numbers without quotes")."""
    kind = next((name for cls, name in _KINDS if isinstance(value, cls)), type(value).__name__)
    if isinstance(value, str) and annotation in (int, float) and _NUMBER.fullmatch(value):
        kind += "; write numbers without quotes"
    elif isinstance(value, str) and annotation is AwareDatetime:
        kind += "; write the date-time without quotes"
    elif isinstance(value, dict) and get_origin(annotation) is tuple:
        kind += "; write each table as [[...]] with double brackets"
    return kind


def explain(error: dict[str, Any], root: type[BaseModel]) -> str | None:
    """One pydantic error on ``root`` as 'expected ..., received ...' (after the key); None to omit it."""
    kind, loc, value = error["type"], error["loc"], error.get("input")
    if kind == OWN_ERROR:
        return error["msg"]
    if kind == "extra_forbidden":
        return unknown_key(loc, root)
    if kind == "too_short" and isinstance(value, list) and len(value) >= error["ctx"]["min_length"]:
        return None  # pydantic's echo of item errors already reported ("at least 1 item after validation")
    annotation, metadata = _field_at(loc, root)
    if kind == "missing":
        if _is_model(annotation):
            return f"required key is missing (add a [{dotted(loc)}] table)"
        if get_origin(annotation) is tuple and _is_model(_item(annotation)):
            return f"required key is missing (add at least one [[{dotted(loc)}]] table)"
        return "required key is missing"
    if annotation is None:
        return f"{error['msg']}, received {_render(value)}"
    received = _render(value) + (" (no offset)" if kind == "timezone_aware" else "")
    if kind not in _QUIET and not (kind == "enum" and isinstance(value, str)):
        received += f" ({_kind(value, annotation)})"
    return f"expected {_describe(annotation, metadata)}, received {received}"
