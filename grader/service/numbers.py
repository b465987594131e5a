"""Whole numbers from clients: ASCII digits only, within the field's range, refused by name otherwise."""

from __future__ import annotations

import re

from grader.service.errors import Unprocessable

MAX_ID = 2**63 - 1  # the largest row id a database integer holds (SQLite's INTEGER, PostgreSQL's bigint)
# ASCII digits: int() also takes '٣' and '²'-like digits of other scripts, and ' 1_000 '.
_WHOLE = re.compile(r"[+-]?[0-9]+")
_SHOWN = 40


def whole_number(text: str, field: str, low: int, high: int) -> int:
    """The whole number a form field holds.

    Args:
        text: what the client sent; surrounding spaces are ignored.
        field: how the message names the field, e.g. ``"extension days"``.
        low: the smallest value allowed.
        high: the largest value allowed.

    Returns:
        The number.

    Raises:
        ServiceError: 422 naming the field and the range, for anything but ASCII digits (with one sign) in it.
    """
    value = text.strip()
    if _WHOLE.fullmatch(value) and len(value) <= len(str(high)) + 1 and low <= int(value) <= high:
        return int(value)
    shown = value if len(value) <= _SHOWN else value[:_SHOWN - 3] + "..."
    raise Unprocessable(f"{field} must be a whole number from {low} to {high} (got {shown!r})")


def check_id(value: int, field: str) -> int:
    """``value`` when it can be a row id (1 to ``MAX_ID``).

    Raises:
        ServiceError: 422 naming the field, for an id no row can have (a database would refuse to compare it).
    """
    if not 1 <= value <= MAX_ID:
        raise Unprocessable(f"{field} must be a whole number from 1 to {MAX_ID} (got {value})")
    return value
