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
        """
        if tuple(probs.shape) != tuple(labels.shape):
            raise ValueError(
                "CategoricalAccuracy expects probs and labels of the same shape (batch, classes). "
                f"Received: probs {tuple(probs.shape)}, labels {tuple(labels.shape)}"
            )
        xp = backend.xp()
        hits = xp.argmax(backend.asarray(probs), axis=-1) == xp.argmax(backend.asarray(labels), axis=-1)
        return hits.mean()
