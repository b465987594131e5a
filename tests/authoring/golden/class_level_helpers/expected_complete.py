"""Solution blocks at class level hold helpers: students may write their own."""

from __future__ import annotations


class Helpers:
    """Only helpers: the stub's class body needs a ``pass``."""

    def _pad(self, x):
        return x

    @staticmethod
    def _unpad(x):
        return x


class Pool:
    """A layer with one method to write and its helpers."""

    def forward(self, x):
        """Return the pooled ``x``."""
        return self._window(x)

    def _window(self, x):
        return x[::2]
