"""Model and SequentialModel: compile, fit, evaluate, predict — Keras-style training loops."""

from __future__ import annotations

from typing import Any

import numpy as np

from beras import backend
from beras.core import Callable, Tensor, Weighted
from beras.gradient_tape import GradientTape
from beras.initializers import rng
from beras.progress import ProgressBar


class Model(Callable, Weighted):
    """A stack of layers trained with an optimizer, a loss and an accuracy metric.

    A model is not itself recorded on the tape: its layers are, one call each.
    """

    def __init__(self, layers: list) -> None:
        self.layers = list(layers)
        self.optimizer = self.loss_fn = self.acc_fn = None

    @property
    def weights(self) -> list:
        return [w for layer in self.layers for w in getattr(layer, "weights", [])]

    def compile(self, optimizer: Any, loss_fn: Any, acc_fn: Any) -> None:
        """Choose how ``fit`` trains and scores."""
        self.optimizer, self.loss_fn, self.acc_fn = optimizer, loss_fn, acc_fn

    def _require_compiled(self, what: str) -> None:
        if self.loss_fn is None:
            raise RuntimeError(f"Model.{what} needs compile(optimizer, loss_fn, acc_fn) first.")

    def batch_step(self, x: Any, y: Any, training: bool = True) -> dict[str, float]:
        """Run one batch; when training, take one optimizer step. Return loss and accuracy."""
        self._require_compiled("batch_step")
        # BEGIN SOLUTION
        if training:
            with GradientTape() as tape:
                predictions = self(x)
                loss = self.loss_fn(predictions, y)
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(self.trainable_variables, grads)
        else:
            predictions = self(x)
            loss = self.loss_fn(predictions, y)
        return {"loss": float(loss), "acc": float(self.acc_fn(predictions, y))}
        # END SOLUTION

    def fit(
        self, x: Any, y: Any, epochs: int, batch_size: int, shuffle: bool = True, verbose: bool = True
    ) -> dict[str, list[float]]:
        """Train for ``epochs`` passes over the data; return per-epoch mean loss and accuracy.

        Shuffling draws from ``beras.set_seed``'s generator, so a seeded run repeats.
        """
        self._require_compiled("fit")
        _check_batch(x, y, batch_size)
        history: dict[str, list[float]] = {"loss": [], "acc": []}
        # BEGIN SOLUTION
        x, y = backend.to_device(x), backend.to_device(y)  # one host→GPU copy, not one per batch
        n = len(x)
        steps = -(-n // batch_size)
        for epoch in range(epochs):
            order = rng().permutation(n) if shuffle else np.arange(n)
            bar = ProgressBar(steps, f"Epoch {epoch + 1}/{epochs}") if verbose else None
            totals = {"loss": 0.0, "acc": 0.0}
            for step in range(steps):
                index = backend.to_device(order[step * batch_size : (step + 1) * batch_size])
                stats = self.batch_step(x[index], y[index], training=True)
                for key in totals:
                    totals[key] += stats[key] * len(index)
                if bar:
                    bar.update(step + 1, {k: v / min(n, (step + 1) * batch_size) for k, v in totals.items()})
            means = {k: v / n for k, v in totals.items()}
            for key in history:
                history[key].append(means[key])
            if bar:
                bar.close(means)
        # END SOLUTION
        return history

    def evaluate(self, x: Any, y: Any, batch_size: int = 256) -> dict[str, float]:
        """Return the mean loss and accuracy over the data, without training."""
        self._require_compiled("evaluate")
        _check_batch(x, y, batch_size)
        totals = dict.fromkeys(("loss", "acc"), 0.0)
        for start in range(0, len(x), batch_size):
            batch = slice(start, start + batch_size)
            stats = self.batch_step(x[batch], y[batch], training=False)
            count = len(x[batch])
            for key in totals:
                totals[key] += stats[key] * count
        return {k: v / len(x) for k, v in totals.items()}

    def predict(self, x: Any, batch_size: int = 256) -> Tensor:
        """Return the model's outputs for ``x``, computed batch by batch."""
        xp = backend.xp()
        parts = [backend.asarray(self(x[s : s + batch_size])) for s in range(0, len(x), batch_size)]
        return Tensor(xp.concatenate(parts, axis=0))


class SequentialModel(Model):
    """Layers applied one after the other: ``forward(x) = layers[-1](...layers[0](x))``."""

    def forward(self, inputs: Any) -> Any:
        """Run ``inputs`` through every layer in order."""
        # BEGIN SOLUTION
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x
        # END SOLUTION


def _check_batch(x: Any, y: Any, batch_size: int) -> None:
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of examples. Received: {len(x)} and {len(y)}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int. Received: {batch_size!r}")
