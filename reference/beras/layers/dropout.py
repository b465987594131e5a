"""Dropout: in training, zero each input with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

Inverted dropout: the kept inputs are scaled up while training, so the layer's expected output
equals its input and inference needs no rescaling (there the layer is the identity).

Training or inference is the layer's own ``training`` attribute (``True`` when built, as in a
fresh PyTorch module): set ``layer.training = False`` to predict or evaluate. The model's
``batch_step(training=...)`` does not switch it.

The mask is drawn from Beras's seeded generator (``beras.set_seed``; ``beras.initializers.rng()``),
on the host as the initializers draw, so one seed gives the same masks on numpy and on CuPy, and a
new mask on every call.

Per call, ``self.mask`` holds what each input was multiplied by: ``0`` (dropped) or
``1 / (1 - rate)`` (kept) in training, ``1`` in inference. The output is ``x * mask``, so the
gradient, elementwise and shaped like ``x``, is the same mask:

* ``dy/dx = mask``                      (like x)
* ``dL/dx = J * mask``                   (the default ``compose_input_gradients``)
"""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Diffable
from beras.initializers import rng


class Dropout(Diffable):
    """Randomly zero inputs while training (no weights).

    Args:
        rate: the probability of dropping each input, ``0 <= rate < 1``.
        training: start in training mode (the default) or in inference mode.

    Raises:
        ValueError: for a rate outside ``[0, 1)`` (a rate of 1 would drop everything and scale by 1/0).
    """

    def __init__(self, rate: float, training: bool = True) -> None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be a number with 0 <= rate < 1. Received: rate={rate!r}")
        self.rate = float(rate)
        self.training = bool(training)
        self.mask = None  # set by each call, read by the gradients (the tape keeps one per call)

    def forward(self, x: Any) -> Any:
        """Return ``x * mask``: each input dropped with probability ``rate``, the kept ones scaled by
        ``1 / (1 - rate)``.

        In inference mode (``self.training`` false) return ``x`` unchanged (a mask of ones).
        """
        # BEGIN SOLUTION
        x = backend.asarray(x)
        if not self.training:
            self.mask = backend.xp().ones(x.shape, dtype=backend.floatx())
            return x
        keep = rng().random(x.shape) >= self.rate
        self.mask = backend.to_device(keep.astype(backend.floatx()) / (1 - self.rate))
        return x * self.mask
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """``dy/dx`` is the last call's mask, shaped like ``x``: 0 where dropped, ``1 / (1 - rate)``
        where kept."""
        # BEGIN SOLUTION
        return [self.mask]
        # END SOLUTION
