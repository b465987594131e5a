"""Solution blocks that are part of a function body."""

from __future__ import annotations


def safe_divide(a, b):
    """Return ``a / b``; refuse a zero divisor."""
    if b == 0:
        raise ZeroDivisionError(f"safe_divide needs a non-zero divisor. Received: b={b}")
    # TODO: implement safe_divide
    raise NotImplementedError("safe_divide")


def clip(values, low, high):
    """Clip each value into ``[low, high]`` in place; return how many changed."""
    changed = 0
    for i, v in enumerate(values):
        if v < low or v > high:
            # TODO: implement clip
            raise NotImplementedError("clip")
    return changed


class Tape:
    def gradient(self, target, sources):
        """Gradients of ``target`` with respect to each source."""
        if not sources:
            return []
        # TODO: implement Tape.gradient
        raise NotImplementedError("Tape.gradient")

    def _grad(self, target, source):
        return 0
