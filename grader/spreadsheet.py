"""CSV for spreadsheets: cells a spreadsheet will not run as formulas, and the one writer every export
uses."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: object) -> str:
    """A cell's text, with a leading apostrophe when a spreadsheet would run it as a formula.

    Args:
        value: the cell (None is empty).

    Returns:
        The text; one starting with ``= + - @``, a tab or a carriage return gets a ``'`` in front, unless the
        whole cell is a plain number such as ``-1.5``.
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(cells: Iterable[object]) -> list[str]:
    """Every cell of a row through ``safe_cell``."""
    return [safe_cell(cell) for cell in cells]


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text (``\\n`` line ends), every cell through ``safe_cell``.

    Args:
        rows: the header and the data rows, in order.

    Returns:
        The CSV text.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(safe_row(row) for row in rows)
    return out.getvalue()
