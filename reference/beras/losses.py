"""Losses: called ``loss(y_pred, y_true)``, each returns a scalar.

=======================  ==============================================  ============================
loss                     value                                           dL/dy_pred
=======================  ==============================================  ============================
MeanSquaredError         mean((y_pred - y_true)**2) over *all* elements  2 * (y_pred - y_true) / size
CategoricalCrossEntropy  -mean over batch of sum_c y_true * log(p)       -y_true / (batch * p),
                                                                         0 where clipped
BinaryCrossEntropy       -mean(y log p + (1 - y) log(1 - p))             (p - y) / (p (1 - p) size),
                                                                         0 where clipped
=======================  ==============================================  ============================

``p`` is ``y_pred`` clipped to ``[epsilon, 1 - epsilon]`` so that ``log`` stays finite;
where the clip was active the gradient is 0 (the clip's own derivative). Labels are not
trained: their gradient is zeros.
"""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Diffable

EPSILON = 1e-7


class Loss(Diffable):
    """Base class: two inputs (predictions, labels), one scalar output, no weights."""

    def _pair(self, y_pred: Any, y_true: Any) -> tuple:
        """Both arguments as arrays of one shape; any array-like (nested lists) is accepted.

        Raises:
            ValueError: when the shapes differ (broadcasting ``(n,)`` against ``(n, 1)``
                would silently compute something else).
        """
        y_pred, y_true = backend.asarray(y_pred), backend.asarray(y_true)
        if tuple(y_pred.shape) != tuple(y_true.shape):
            raise ValueError(
                f"{type(self).__name__} expects y_pred and y_true of the same shape. "
                f"Received: y_pred {tuple(y_pred.shape)}, y_true {tuple(y_true.shape)}"
            )
        return y_pred, y_true


class ClippedLoss(Loss):
    """A loss on probabilities, clipped to ``[epsilon, 1 - epsilon]`` so ``log`` stays finite.

    Args:
        epsilon: the clip margin.
    """

    def __init__(self, epsilon: float = EPSILON) -> None:
        self.epsilon = float(epsilon)

    def _clipped(self, y_pred: Any) -> tuple:
        """Return ``(p, inside)``: the clipped predictions and where the clip was inactive."""
        xp = backend.xp()
        inside = (y_pred >= self.epsilon) & (y_pred <= 1 - self.epsilon)
        return xp.clip(y_pred, self.epsilon, 1 - self.epsilon), inside


class MeanSquaredError(Loss):
    """Mean of the squared errors over every element."""

    def forward(self, y_pred: Any, y_true: Any) -> Any:
        """Return ``mean((y_pred - y_true) ** 2)``."""
        y_pred, y_true = self._pair(y_pred, y_true)
        # BEGIN SOLUTION
        return ((y_pred - y_true) ** 2).mean()
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """``[2 * (y_pred - y_true) / size, zeros]``."""
        # BEGIN SOLUTION
        xp = backend.xp()
        y_pred, y_true = (backend.asarray(t) for t in self.inputs)
        return [2 * (y_pred - y_true) / y_pred.size, xp.zeros_like(y_true, dtype=y_pred.dtype)]
        # END SOLUTION


class CategoricalCrossEntropy(ClippedLoss):
    """Cross-entropy between one-hot (or soft) labels and predicted probabilities."""

    def forward(self, y_pred: Any, y_true: Any) -> Any:
        """Return ``-mean over the batch of sum_c y_true * log(clip(y_pred))``."""
        y_pred, y_true = self._pair(y_pred, y_true)
        # BEGIN SOLUTION
        xp = backend.xp()
        p, _ = self._clipped(y_pred)
        batch = y_pred.shape[0] if y_pred.ndim > 1 else 1
        return -(y_true * xp.log(p)).sum() / batch
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """``[-y_true / (batch * p) where not clipped else 0, zeros]``."""
        # BEGIN SOLUTION
        xp = backend.xp()
        y_pred, y_true = (backend.asarray(t) for t in self.inputs)
        p, inside = self._clipped(y_pred)
        batch = y_pred.shape[0] if y_pred.ndim > 1 else 1
        grad = xp.where(inside, -y_true / (batch * p), 0.0).astype(p.dtype, copy=False)
        return [grad, xp.zeros_like(y_true, dtype=p.dtype)]
        # END SOLUTION


class BinaryCrossEntropy(ClippedLoss):
    """Binary cross-entropy averaged over every element."""

    def forward(self, y_pred: Any, y_true: Any) -> Any:
        """Return ``-mean(y log p + (1 - y) log(1 - p))`` with ``p = clip(y_pred)``."""
        y_pred, y_true = self._pair(y_pred, y_true)
        # BEGIN SOLUTION
        xp = backend.xp()
        p, _ = self._clipped(y_pred)
        return -(y_true * xp.log(p) + (1 - y_true) * xp.log(1 - p)).mean()
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """``[(p - y) / (p (1 - p) size) where not clipped else 0, zeros]``."""
        # BEGIN SOLUTION
        xp = backend.xp()
        y_pred, y_true = (backend.asarray(t) for t in self.inputs)
        p, inside = self._clipped(y_pred)
        grad = xp.where(inside, (p - y_true) / (p * (1 - p) * y_pred.size), 0.0)
        return [grad.astype(p.dtype, copy=False), xp.zeros_like(y_true, dtype=p.dtype)]
        # END SOLUTION
