"""Whole-body solution blocks: with and without a docstring, decorated, long signatures."""

from __future__ import annotations

import functools


def square(x):
    """Return ``x`` squared."""
    raise NotImplementedError("square")


def cube(x):
    raise NotImplementedError("cube")


@functools.lru_cache(maxsize=None)
def fib(n: int) -> int:
    """The ``n``-th Fibonacci number."""
    # Students may recurse or loop; both pass.
    raise NotImplementedError("fib")


class Dense:
    """A fully connected layer."""

    def __init__(self, w, b):
        self.w, self.b = w, b

    @property
    def weights(self):
        """The trainable weights."""
        raise NotImplementedError("Dense.weights")

    def forward(
        self,
        x,
        training: bool = False,
    ):
        """Return ``x @ w + b``.

        The docstring has several lines.
        """
        raise NotImplementedError("Dense.forward")
