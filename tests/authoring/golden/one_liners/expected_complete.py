"""One-line solutions: the value is replaced by ``...``, the rest of the line kept."""

from __future__ import annotations

SCALE = 2.0 ** 0.5


def affine(x, w, b):
    """Return ``x @ w + b``."""
    y = x @ w + b
    return y


def annotated(x):
    """An annotated assignment."""
    total: float = sum(x) / len(x)
    return total


def counter(x):
    """An augmented assignment."""
    x += 1
    return x


def add(a, b):
    """A return."""
    return a + b


def log(messages, text):
    """An expression statement."""
    messages.append(text.strip())


def wrapped(a, b):
    """A parenthesized value, several targets and a return without a space."""
    lo = hi = (min(a, b))
    return(lo + hi)
