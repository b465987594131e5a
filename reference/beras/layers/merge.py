"""Add: the sum of two same-shaped tensors, for residual connections (``y = f(x) + x``)."""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Diffable


class Add(Diffable):
    """``y = a + b``; both gradients are ``J`` itself."""

    def forward(self, a: Any, b: Any) -> Any:
        """Return ``a + b`` (same shapes only: no broadcasting)."""
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(
                f"Add expects two inputs of the same shape. Received: {tuple(a.shape)} and {tuple(b.shape)}"
            )
        return backend.asarray(a) + backend.asarray(b)

    def get_input_gradients(self) -> list:
        """``dy/da`` and ``dy/db`` are ones."""
        xp = backend.xp()
        return [xp.ones(self.inputs[0].shape), xp.ones(self.inputs[1].shape)]
