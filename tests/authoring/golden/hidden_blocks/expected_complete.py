"""Hidden blocks: author-only code that no release contains."""

from __future__ import annotations



class Layer:
    """A layer with an author-only check."""


    def forward(self, x):
        """Return ``x`` doubled."""
        return 2 * x


class AuthorOnly:
    """Its whole body besides the docstring is hidden."""

    pass


def report(value):
    """Print ``value`` in debug runs."""
    if value:
        pass
    return value
