"""Cut text that reaches the results file to a size in characters and in JSON-encoded bytes, whatever
it holds."""

from __future__ import annotations

import json

CUT_MARK = " … [cut: {} more characters]"


def encoded_size(text: str) -> int:
    """Bytes ``text`` takes as a JSON string in the results file (``json.dumps``' ASCII escapes counted)."""
    return len(json.dumps(text))


def clean(text: str) -> str:
    """``text`` with lone surrogates (which no UTF-8 file can hold) replaced by U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


def fit(text: str, max_chars: int, max_bytes: int) -> str:
    """``text`` cut to at most ``max_chars`` characters and ``max_bytes`` bytes once JSON-encoded.

    Characters are not all alike in the results file: an emoji is one character but twelve bytes
    (``\\ud83d\\ude00``) and a control character six, so a cap in characters alone lets a student's
    message blow the file past the worker's byte cap. What is cut is said at the end.

    Args:
        text: any text (a failure message, a note), possibly from student code.
        max_chars: most characters kept.
        max_bytes: most bytes of the JSON-encoded result, quotes included.

    Returns:
        The text, or its longest prefix that fits with the cut mark after it.
    """
    text = clean(text)
    if len(text) <= max_chars and encoded_size(text) <= max_bytes:
        return text
    mark_room = encoded_size(CUT_MARK.format(len(text)))
    # The longest prefix that fits: sizes grow with the prefix, so a binary search finds it.
    low, high = 0, min(len(text), max_chars)
    while low < high:
        middle = (low + high + 1) // 2
        if encoded_size(text[:middle]) + mark_room <= max_bytes:
            low = middle
        else:
            high = middle - 1
    kept = text[:low]
    return kept + CUT_MARK.format(len(text) - len(kept))
