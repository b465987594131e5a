"""Blocks inside nested functions and nested classes: scopes are qualified names."""

from __future__ import annotations


class Model:
    """A model with a method that builds a closure."""

    def make_step(self, lr):
        """Return a function that updates one weight."""

        def step(w, g):
            """One gradient step."""
            # BEGIN SOLUTION
            return w - lr * g
            # END SOLUTION

        return step

    class Config:
        """A nested class."""

        def learning_rate(self):
            # BEGIN SOLUTION
            return 0.01
            # END SOLUTION


def outer():
    """A function whose inner class has a method to write."""

    class Inner:
        def value(self):
            # BEGIN SOLUTION
            return 42
            # END SOLUTION

    return Inner
