"""Metrics: called ``metric(y_pred, y_true)``; they score, they are not differentiated."""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Callable


class CategoricalAccuracy(Callable):
    """Fraction of examples whose highest-scoring class is the labelled class."""

    def forward(self, probs: Any, labels: Any) -> Any:
        """Return ``mean(argmax(probs) == argmax(labels))`` over the batch.

        Args:
            probs: scores or probabilities, ``(batch, classes)``.
            labels: one-hot labels, ``(batch, classes)``.

        Both may be any array-like (a Tensor, a numpy or CuPy array, nested Python lists, as
        the course's handout passes its labels); they reach the computation as arrays.

        Raises:
            ValueError: when the two shapes differ.
        """
        probs, labels = backend.asarray(probs), backend.asarray(labels)
        if tuple(probs.shape) != tuple(labels.shape):
            raise ValueError(
                "CategoricalAccuracy expects probs and labels of the same shape (batch, classes). "
                f"Received: probs {tuple(probs.shape)}, labels {tuple(labels.shape)}"
            )
        # BEGIN SOLUTION
        xp = backend.xp()
        hits = xp.argmax(backend.asarray(probs), axis=-1) == xp.argmax(backend.asarray(labels), axis=-1)
        # as the run's float dtype: the mean of booleans would be float64 (in a float32 run, on a GPU too)
        hits = hits.astype(probs.dtype if probs.dtype.kind == "f" else backend.floatx())
        return hits.mean()
        # END SOLUTION
