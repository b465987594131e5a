"""Flatten: ``(batch, d1, d2, ...)`` → ``(batch, d1 * d2 * ...)``; the gradient reshapes back."""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Diffable


class Flatten(Diffable):
    """Reshape each example to a vector (the batch axis stays)."""

    def forward(self, x: Any) -> Any:
        """Return ``x`` reshaped to ``(batch, -1)``."""
        if getattr(x, "ndim", 0) < 1:
            raise ValueError("Flatten expects an input with a batch axis. Received: shape "
                             f"{tuple(getattr(x, 'shape', ()))}")
        # BEGIN SOLUTION
        x = backend.asarray(x)
        return x.reshape(x.shape[0], -1)
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """Each output is one input: ones, shaped like the input."""
        # BEGIN SOLUTION
        return [backend.xp().ones(self.inputs[0].shape)]
        # END SOLUTION

    def compose_input_gradients(self, J: Any = None) -> list:
        """``dL/dx`` is ``J`` reshaped to the input's shape."""
        if J is None:
            return self.get_input_gradients()
        # BEGIN SOLUTION
        return [backend.asarray(J).reshape(self.inputs[0].shape)]
        # END SOLUTION
