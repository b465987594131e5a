"""Dense: the fully connected layer ``y = x @ w + b``.

Shapes: ``x`` is ``(batch, input_size)``, ``w`` is ``(input_size, output_size)``,
``b`` is ``(output_size,)`` and ``y`` is ``(batch, output_size)``.

Gradients, for an upstream gradient ``J = dL/dy`` of shape ``(batch, output_size)``:

* ``dL/dx = J @ w.T``           (batch, input_size)
* ``dL/dw = x.T @ J``           (input_size, output_size)
* ``dL/db = sum of J over the batch``   (output_size,)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from beras import backend
from beras.core import Diffable, Variable
from beras.initializers import initialize
from beras.layers import _checks


class Dense(Diffable):
    """Fully connected layer with weights ``[w, b]``.

    Args:
        input_size: features per input example.
        output_size: features per output example.
        initializer: how ``w`` starts (see ``beras.initializers``); ``b`` starts at zero.
    """

    def __init__(self, input_size: int, output_size: int, initializer: str = "normal") -> None:
        for name, value in (("input_size", input_size), ("output_size", output_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Dense: {name} must be a positive int. Received: {name}={value!r}")
        self.input_size, self.output_size = input_size, output_size
        self.w = Variable(initialize(initializer, (input_size, output_size), owner="Dense"))
        self.b = Variable(initialize("zero", (output_size,), owner="Dense"))

    @property
    def weights(self) -> list:
        return [self.w, self.b]

    def forward(self, x: Any) -> Any:
        """Return ``x @ w + b`` for ``x`` of shape ``(batch, input_size)``."""
        _checks.rank("Dense", x, 2, "(batch, input_size); flatten images first")
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"Dense expects inputs with {self.input_size} features (batch, {self.input_size}). "
                f"Received: input of shape {tuple(x.shape)}"
            )
        return backend.asarray(x) @ backend.asarray(self.w) + backend.asarray(self.b)

    def get_input_gradients(self) -> list:
        """One copy of the kernel per example: (batch, in, out)."""
        batch = len(self.inputs[0])
        return [np.tile(np.asarray(self.w), (batch, 1, 1))]

    def get_weight_gradients(self) -> list:
        """dy/dw as the input x itself (batch, in); dy/db ones, kept two-dimensional."""
        return [np.asarray(self.inputs[0]), np.ones((1, self.output_size))]

    def compose_input_gradients(self, J: Any = None) -> list:
        if J is None:
            return self.get_input_gradients()
        jacobian = self.get_input_gradients()[0]
        return [np.einsum("bij,bj->bi", jacobian, np.asarray(J))]

    def compose_weight_gradients(self, J: Any = None) -> list:
        if J is None:
            return self.get_weight_gradients()
        x, J = np.asarray(self.inputs[0]), np.asarray(J)
        return [x.T @ J, np.sum(J, axis=0, keepdims=True)]  # the bias gradient stays (1, out)
