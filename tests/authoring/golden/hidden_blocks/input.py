"""Hidden blocks: author-only code that no release contains."""

from __future__ import annotations

# BEGIN HIDDEN
import os

AUTHOR_DEBUG = os.environ.get("AUTHOR_DEBUG")
# END HIDDEN


class Layer:
    """A layer with an author-only check."""

    # BEGIN HIDDEN
    _checked = True
    # END HIDDEN

    def forward(self, x):
        """Return ``x`` doubled."""
        # BEGIN HIDDEN
        assert x is not None, "author check"
        # END HIDDEN
        # BEGIN SOLUTION
        return 2 * x
        # END SOLUTION


class AuthorOnly:
    """Its whole body besides the docstring is hidden."""

    # BEGIN HIDDEN
    def trace(self):
        return "trace"
    # END HIDDEN


def report(value):
    """Print ``value`` in debug runs."""
    if value:
        # BEGIN HIDDEN
        print("debug", value)
        # END HIDDEN
    return value
