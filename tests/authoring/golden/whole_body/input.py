"""Whole-body solution blocks: with and without a docstring, decorated, long signatures."""

from __future__ import annotations

import functools


def square(x):
    """Return ``x`` squared."""
    # BEGIN SOLUTION
    result = x * x
    return result
    # END SOLUTION


def cube(x):
    # BEGIN SOLUTION
    return x * x * x
    # END SOLUTION


@functools.lru_cache(maxsize=None)
def fib(n: int) -> int:
    """The ``n``-th Fibonacci number."""
    # Students may recurse or loop; both pass.
    # BEGIN SOLUTION
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
    # END SOLUTION


class Dense:
    """A fully connected layer."""

    def __init__(self, w, b):
        self.w, self.b = w, b

    @property
    def weights(self):
        """The trainable weights."""
        # BEGIN SOLUTION
        return [self.w, self.b]
        # END SOLUTION

    def forward(
        self,
        x,
        training: bool = False,
    ):
        """Return ``x @ w + b``.

        The docstring has several lines.
        """
        # BEGIN SOLUTION
        return x @ self.w + self.b
        # END SOLUTION
