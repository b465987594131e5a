"""Marker-like text in strings is not a marker: # BEGIN SOLUTION here stays as it is."""

from __future__ import annotations

TEMPLATE = """
    # BEGIN SOLUTION
    this is data, not a marker
    # END SOLUTION
"""
ONE_LINE = "x = 1  # SOLUTION"  # the SOLUTION is not in this comment's first words


def explain():
    """Return help text.

    Write your code where the stub says ``# TODO``; the reference marks it with
    # BEGIN SOLUTION and # END SOLUTION.
    """
    # A comment before the block stays in the stub.
    raise NotImplementedError("explain")
    # A comment after the block stays too.


def dedented():
    """A multi-line string inside a block may be less indented than the markers."""
    raise NotImplementedError("dedented")
