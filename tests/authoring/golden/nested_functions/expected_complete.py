"""Blocks inside nested functions and nested classes: scopes are qualified names."""

from __future__ import annotations


class Model:
    """A model with a method that builds a closure."""

    def make_step(self, lr):
        """Return a function that updates one weight."""

        def step(w, g):
            """One gradient step."""
            return w - lr * g

        return step

    class Config:
        """A nested class."""

        def learning_rate(self):
            return 0.01


def outer():
    """A function whose inner class has a method to write."""

    class Inner:
        def value(self):
            return 42

    return Inner
