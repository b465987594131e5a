"""Text cut to a size in characters and JSON-encoded bytes: emoji, control characters, lone surrogates."""

from __future__ import annotations

import json

import pytest

from grader.harness.textcap import encoded_size, fit


def test_short_text_is_kept_as_is() -> None:
    assert fit("shape (2, 3) expected", 100, 1000) == "shape (2, 3) expected"


@pytest.mark.parametrize("unit", ["a", "\U0001F600", "\x01", "\u00e9", "\ud800"])
def test_any_text_fits_its_byte_budget_and_says_what_was_cut(unit: str) -> None:
    text = unit * 50_000
    kept = fit(text, 8000, 4096)
    assert encoded_size(kept) <= 4096
    assert len(kept) <= 8000 + 40
    assert "more characters]" in kept
    json.loads(json.dumps(kept))  # a valid JSON string, written as UTF-8 without error
    kept.encode("utf-8")


def test_characters_are_capped_even_when_bytes_would_allow() -> None:
    kept = fit("x" * 20_000, 100, 10**6)
    assert kept.startswith("x" * 100) and not kept.startswith("x" * 101)
    assert kept.endswith("[cut: 19900 more characters]")


def test_an_emoji_counts_twelve_bytes() -> None:
    assert encoded_size("\U0001F600") == 12 + 2
    kept = fit("\U0001F600" * 1000, 8000, 1200)
    assert kept.count("\U0001F600") < 100
