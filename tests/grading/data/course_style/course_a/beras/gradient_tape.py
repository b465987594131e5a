"""GradientTape: records Diffable calls and walks back from the loss to the sources.

The tape keeps a list of *records*, one per Diffable call, in the order the calls ran
(a topological order of the computation). ``gradient`` walks that list backwards,
carrying for each tensor (keyed by ``id``) the gradient of the target with respect to it.

Beyond the course's tape:

* a tensor that feeds two layers (a residual connection) gets the *sum* of both paths;
* a layer applied twice (weight sharing) gets both contributions: each record keeps a
  snapshot of the layer's per-call state, restored before that call's gradients are
  asked for;
* a source that the target does not depend on gets zeros and a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from beras import backend
from beras.core import Diffable, Tensor, squeeze_leading


@dataclass
class Record:
    """One Diffable call: the layer, its inputs, its output and its state after the call."""

    layer: Diffable
    inputs: list
    output: Any
    state: dict


class GradientTape:
    """Context manager that records Diffable calls for ``gradient``.

    Example::

        with beras.GradientTape() as tape:
            loss = loss_fn(model(x), y)
        grads = tape.gradient(loss, model.trainable_variables)
    """

    def __init__(self) -> None:
        self.records: list[Record] = []
        # id(output) -> layer that produced it; the course's name for the tape's map
        self.previous_layers: dict[int, Diffable] = {}

    def __enter__(self) -> "GradientTape":
        if Diffable.gradient_tape is not None:
            raise RuntimeError(
                "GradientTape cannot be nested: another tape is already recording. "
                "Close the outer `with GradientTape()` block before opening a new one."
            )
        Diffable.gradient_tape = self
        return self

    def __exit__(self, *exc: Any) -> None:
        if Diffable.gradient_tape is self:
            Diffable.gradient_tape = None

    def record(self, layer: Diffable, inputs: list, output: Any) -> None:
        """Remember one call of ``layer`` (called by ``Diffable.__call__``)."""
        self.records.append(Record(layer, inputs, output, dict(vars(layer))))
        self.previous_layers[id(output)] = layer

    def gradient(self, target: Any, sources: Any) -> Any:
        """Return the gradient of ``target`` with respect to each source.

        For a non-scalar target this is the gradient of ``sum(target)``.

        Args:
            target: a Tensor computed under this tape (usually the scalar loss).
            sources: a list of tensors (weights, inputs); a single tensor is allowed.

        Returns:
            A list with one array per source, shaped like it (a single array when a
            single tensor was given). Sources the target does not depend on get zeros,
            with a warning.
        """
        single = not isinstance(sources, (list, tuple))
        source_list = [sources] if single else list(sources)
        grads = self._backpropagate(target, source_list)
        xp = backend.xp()
        result = []
        for index, source in enumerate(source_list):
            grad = grads.get(id(source))
            if grad is None:
                warnings.warn(
                    f"GradientTape.gradient: source #{index} (shape {tuple(source.shape)}) "
                    "is not connected to the target; its gradient is zeros.",
                    stacklevel=2,
                )
                grad = xp.zeros(source.shape, dtype=getattr(source, "dtype", float))
            # a (1, n) gradient of an (n,) bias holds the same values: give it the source's shape
            result.append(Tensor(squeeze_leading(grad, source.ndim)))
        return result[0] if single else result

    def _backpropagate(self, target: Any, sources: list) -> dict:
        """Walk the records backwards; return ``{id(tensor): gradient}``."""
        xp = backend.xp()
        live = self._depends_on(sources)
        grads: dict[int, Any] = {id(target): xp.ones(target.shape, dtype=_float(target))}
        latest_state = {}
        for rec in reversed(self.records):
            upstream = grads.get(id(rec.output))
            if upstream is None or id(rec.output) not in live:
                continue
            layer = rec.layer
            latest_state.setdefault(id(layer), (layer, dict(vars(layer))))
            layer.__dict__.update(rec.state)
            wanted_inputs = [id(x) in live for x in rec.inputs]
            if any(wanted_inputs):
                for x, wanted, g in zip(
                    rec.inputs, wanted_inputs, layer.compose_input_gradients(upstream)
                ):
                    if wanted and getattr(x, "trainable", True):
                        _accumulate(grads, x, g)
            weights = layer.weights
            if any(id(w) in live for w in weights):
                for w, g in zip(weights, layer.compose_weight_gradients(upstream)):
                    _accumulate(grads, w, g)
        for layer, state in latest_state.values():
            layer.__dict__.update(state)
        return grads

    def _depends_on(self, sources: list) -> set:
        """Ids of the sources and of every recorded tensor computed from one of them."""
        live = {id(s) for s in sources}
        for rec in self.records:
            if any(id(x) in live for x in rec.inputs) or any(
                id(w) in live for w in rec.layer.weights
            ):
                live.add(id(rec.output))
        return live


def _float(array: Any) -> Any:
    dtype = getattr(array, "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else "float64"


def _accumulate(grads: dict, tensor: Any, grad: Any) -> None:
    """Add ``grad`` to the gradient stored for ``tensor`` (paths that meet are summed).

    Extra leading axes of length 1 (a ``(1, n)`` bias gradient) are dropped, so that they do not
    spread to the gradients computed from this one.
    """
    grad = squeeze_leading(grad, getattr(tensor, "ndim", 0))
    key = id(tensor)
    if key in grads:
        grads[key] = grads[key] + grad
    else:
        grads[key] = grad
