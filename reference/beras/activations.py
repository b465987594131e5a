"""Activation functions; each is elementwise except Softmax, which works on the last axis.

==============  ==========================================  ==============================
layer           forward                                      local gradient dy/dx
==============  ==========================================  ==============================
ReLU            max(x, 0)                                    1 where x > 0, else 0
LeakyReLU(a)    x where x > 0, else a * x                    1 where x > 0, else a
Sigmoid         1 / (1 + exp(-x))                            y * (1 - y)
Tanh            tanh(x)                                      1 - y**2
Softmax         exp(x - max) / sum(exp(x - max))             diag(y) - y y^T (per row)
==============  ==========================================  ==============================

Elementwise layers use Diffable's default chain rule ``dL/dx = J * dy/dx``; Softmax
composes with its Jacobian: ``dL/dx = y * (J - sum(J * y, last axis))``.
"""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Diffable


class Activation(Diffable):
    """Base class: an activation has no weights and one input."""


class ReLU(Activation):
    """Rectified linear unit: ``max(x, 0)``."""

    def forward(self, x: Any) -> Any:
        """Return ``max(x, 0)`` elementwise."""
        # BEGIN SOLUTION
        x = backend.asarray(x)
        return backend.xp().maximum(x, 0)
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """1 where the input was positive, else 0 (0 at exactly 0)."""
        # BEGIN SOLUTION
        x = backend.asarray(self.inputs[0])
        return [(x > 0).astype(_float(x))]
        # END SOLUTION


class LeakyReLU(Activation):
    """``x`` for positive inputs, ``alpha * x`` otherwise.

    Args:
        alpha: the slope for negative inputs (0.3, as in Keras).
    """

    def __init__(self, alpha: float = 0.3) -> None:
        self.alpha = float(alpha)

    def forward(self, x: Any) -> Any:
        """Return ``x`` where ``x > 0`` and ``alpha * x`` elsewhere."""
        # BEGIN SOLUTION
        x = backend.asarray(x)
        return backend.xp().where(x > 0, x, self.alpha * x)
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """1 where the input was positive, else ``alpha``."""
        # BEGIN SOLUTION
        x = backend.asarray(self.inputs[0])
        xp = backend.xp()
        dtype = xp.dtype(_float(x))  # not where(x > 0, 1.0, alpha): two Python floats make a float64 array
        return [xp.where(x > 0, dtype.type(1), dtype.type(self.alpha))]
        # END SOLUTION


class Sigmoid(Activation):
    """The logistic function ``1 / (1 + exp(-x))``, computed without overflow."""

    def forward(self, x: Any) -> Any:
        """Return ``sigmoid(x)``; large negative ``x`` must not overflow ``exp``."""
        # BEGIN SOLUTION
        xp = backend.xp()
        x = backend.asarray(x)
        # exp(-logaddexp(0, -x)) == 1 / (1 + exp(-x)), with no overflow for x << 0
        return xp.exp(-xp.logaddexp(0, -x)).astype(_float(x), copy=False)
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """``y * (1 - y)`` with ``y`` the output."""
        # BEGIN SOLUTION
        y = backend.asarray(self.outputs[0])
        return [y * (1 - y)]
        # END SOLUTION


class Tanh(Activation):
    """The hyperbolic tangent."""

    def forward(self, x: Any) -> Any:
        """Return ``tanh(x)``."""
        # BEGIN SOLUTION
        return backend.xp().tanh(backend.asarray(x))
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """``1 - y**2`` with ``y`` the output."""
        # BEGIN SOLUTION
        y = backend.asarray(self.outputs[0])
        return [1 - y * y]
        # END SOLUTION


class Softmax(Activation):
    """Softmax over the last axis, stable for large inputs (the row maximum is subtracted)."""

    def forward(self, x: Any) -> Any:
        """Return ``exp(x - max) / sum(exp(x - max))`` along the last axis."""
        # BEGIN SOLUTION
        xp = backend.xp()
        x = backend.asarray(x)
        shifted = xp.exp(x - x.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """The Jacobian per row, shape ``(..., classes, classes)``: ``diag(y) - y y^T``."""
        # BEGIN SOLUTION
        xp = backend.xp()
        y = backend.asarray(self.outputs[0])
        eye = xp.eye(y.shape[-1], dtype=y.dtype)
        return [y[..., :, None] * eye - y[..., :, None] * y[..., None, :]]
        # END SOLUTION

    def compose_input_gradients(self, J: Any = None) -> list:
        """``dL/dx = y * (J - sum(J * y, axis=-1))`` (the Jacobian applied without building it)."""
        if J is None:
            return self.get_input_gradients()
        # BEGIN SOLUTION
        y = backend.asarray(self.outputs[0])
        J = backend.asarray(J)
        return [y * (J - (J * y).sum(axis=-1, keepdims=True))]
        # END SOLUTION


def _float(x: Any) -> Any:
    """The float dtype to give a gradient of ``x`` (ints are promoted)."""
    return x.dtype if x.dtype.kind == "f" else backend.floatx()
