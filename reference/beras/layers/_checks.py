"""Argument and shape checks shared by the layers; every message names the layer."""

from __future__ import annotations

from typing import Any

from beras.core import array_shape


def positive_pair(layer: str, name: str, value: Any) -> tuple[int, int]:
    """Return ``value`` as a pair of positive ints (an int means the same for both axes).

    Raises:
        ValueError: for non-integers, a wrong length or values below 1.
    """
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints. Received: {name}={value!r}")
    if min(pair) < 1:
        raise ValueError(f"{layer}: {name} must be positive. Received: {name}={value!r}")
    return pair


def padding_mode(layer: str, padding: Any) -> str:
    """Return ``"valid"`` or ``"same"`` (any case, surrounding spaces are not accepted).

    Raises:
        ValueError: for any other value.
    """
    mode = padding.lower() if isinstance(padding, str) else None
    if mode not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same'. Received: padding={padding!r}")
    return mode


def rank(layer: str, x: Any, expected: int, layout: str) -> tuple:
    """Return the shape of ``x`` (an array, or an array-like such as nested lists).

    Raises:
        ValueError: unless ``x`` has ``expected`` dimensions, or when it is ragged.
    """
    try:
        shape = array_shape(x)
    except ValueError:
        raise ValueError(
            f"{layer} expects a {expected}-D input {layout}. "
            f"Received: a ragged nested sequence ({type(x).__name__})"
        ) from None
    if len(shape) != expected:
        raise ValueError(
            f"{layer} expects a {expected}-D input {layout}. Received: input of shape {shape}"
        )
    return shape
