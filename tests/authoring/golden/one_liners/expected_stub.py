"""One-line solutions: the value is replaced by ``...``, the rest of the line kept."""

from __future__ import annotations

SCALE = ...  # TODO


def affine(x, w, b):
    """Return ``x @ w + b``."""
    y = ...  # TODO
    return y


def annotated(x):
    """An annotated assignment."""
    total: float = ...  # TODO
    return total


def counter(x):
    """An augmented assignment."""
    x += ...  # TODO
    return x


def add(a, b):
    """A return."""
    return ...  # TODO


def log(messages, text):
    """An expression statement."""
    ...  # TODO


def wrapped(a, b):
    """A parenthesized value, several targets and a return without a space."""
    lo = hi = ...  # TODO
    return ...  # TODO
