"""The building blocks: Tensor, Variable, Callable, Weighted and Diffable.

Everything a student builds is a ``Callable`` (it has a ``forward``). A ``Diffable`` is a
callable that can also say how its output changes with its inputs and weights; when it
runs inside a ``GradientTape`` it records each call on the tape, so that
``tape.gradient`` can walk back from the loss.

The gradient methods every Diffable offers:

* ``get_input_gradients()``: the *local* derivative of the output with respect to each
  input, in the form the layer documents (elementwise layers: an array shaped like the
  input; Dense: the kernel ``w``; losses, whose output is a scalar: the full gradient).
  One array per input; inputs that are not trainable (labels) get zeros.
* ``get_weight_gradients()``: the same for each weight, in ``self.weights`` order.
* ``compose_input_gradients(J)``: given ``J``, the gradient of the final loss with respect
  to this layer's output (same shape as the output), return the gradient of the loss with
  respect to each input (the chain rule, a vector-Jacobian product). The default
  multiplies elementwise, which is right for elementwise layers and for losses.
* ``compose_weight_gradients(J)``: the same for each weight.
"""

from __future__ import annotations

import inspect
from abc import ABC, ABCMeta, abstractmethod
from typing import Any

import numpy as np

from beras import backend


class _TensorBehaviour:
    """What every Tensor has on either backend: a ``trainable`` flag that views inherit."""

    trainable: bool

    def __array_finalize__(self, obj: Any) -> None:
        self.trainable = getattr(obj, "trainable", True)


class Tensor(_TensorBehaviour, np.ndarray, metaclass=ABCMeta):
    """An array with a ``trainable`` flag; the tape tracks tensors by identity.

    ``Tensor(t)`` returns ``t`` itself when ``t`` already is a Tensor (or Variable), so
    wrapping never breaks the identity the tape relies on. Otherwise it views the data
    without copying. On the CuPy backend the result is the GPU twin of this class (see
    ``beras.backend``); ``isinstance(t, Tensor)`` holds for both.
    """

    _device_mixin = _TensorBehaviour

    def __new__(cls, input_array: Any, dtype: Any = None) -> "Tensor":
        if isinstance(input_array, cls) and dtype is None:
            return input_array
        if backend.is_gpu():
            obj = backend.xp().asarray(input_array, dtype=dtype).view(backend.device_class(cls))
        else:
            obj = np.asarray(input_array, dtype=dtype).view(cls)
        obj.trainable = True
        return obj


class _VariableBehaviour(_TensorBehaviour):
    """What a Variable adds on either backend: ``assign`` writes new values in place."""

    def assign(self, value: Any) -> "Variable":
        """Overwrite this variable's values in place and return it.

        Accepted: any array-like (a Tensor, a numpy or CuPy array, nested lists, a number)
        whose shape is the variable's, or differs from it only by leading axes of length 1.
        The course's handout keeps a bias as ``(1, n)``, so ``b.assign(np.zeros((1, n)))``
        fills a ``(n,)`` bias (and a ``(n,)`` value fills a ``(1, n)`` variable): the same
        values in the same order. Values are cast to the variable's dtype.

        Raises:
            ValueError: when the shapes differ in any other way (a ``(n, 1)`` column into a
                ``(n,)`` bias, a transposed kernel), or ``value`` is ragged; the message
                names both shapes.
        """
        expected = tuple(self.shape)
        try:
            value_shape = array_shape(value)
        except ValueError:
            raise ValueError(
                f"Variable.assign expects an array-like of shape {expected}. "
                f"Received: a ragged nested sequence ({type(value).__name__})"
            ) from None
        if value_shape != expected:
            if not same_up_to_leading_ones(value_shape, expected):
                raise ValueError(
                    f"Variable.assign expects a value of shape {expected} (leading axes of "
                    f"length 1 may be added or left out). Received: shape {value_shape}"
                )
            value = backend.to_device(value).reshape(expected)
        self[...] = backend.to_device(value) if backend.is_gpu() else value
        return self


class Variable(_VariableBehaviour, Tensor):
    """A Tensor that holds state (weights): it owns a copy of its data and can ``assign``."""

    _device_mixin = _VariableBehaviour

    def __new__(cls, initial_value: Any, trainable: bool = True, dtype: Any = None) -> "Variable":
        module = backend.xp()
        data = module.array(backend.to_device(initial_value), dtype=dtype, copy=True)
        target = backend.device_class(cls) if backend.is_gpu() else cls
        obj = data.view(target)
        obj.trainable = bool(trainable)
        return obj


def array_shape(value: Any) -> tuple:
    """The shape of an array or array-like (nested lists, numbers) without copying arrays.

    Raises:
        ValueError: for a ragged nested sequence.
    """
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else tuple(np.shape(value))


def same_up_to_leading_ones(shape_a: tuple, shape_b: tuple) -> bool:
    """True when two shapes differ only by leading axes of length 1: ``(1, n)`` and ``(n,)``."""
    return _strip_leading_ones(tuple(shape_a)) == _strip_leading_ones(tuple(shape_b))


def _strip_leading_ones(shape: tuple) -> tuple:
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def as_output(value: Any) -> Tensor:
    """Wrap a forward result as a Tensor.

    Math on a Variable (``x @ self.w``) yields a Variable-typed array under numpy's
    subclass rules; an output is not state, so it is re-viewed as a plain Tensor.
    """
    if isinstance(value, Variable):
        value = backend.asarray(value)
    return Tensor(value)


class Callable(ABC):
    """Anything with a ``forward``; calling it runs ``forward`` and wraps the result."""

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        return as_output(self.forward(*args, **kwargs))

    @abstractmethod
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the output from the inputs."""


class Weighted(ABC):
    """Something that owns weights (Variables)."""

    @property
    def weights(self) -> list:
        """All weights, in a fixed order (Dense and Conv2D: ``[kernel, bias]``)."""
        return []

    @property
    def trainable_variables(self) -> list:
        """The weights whose ``trainable`` flag is set."""
        return [w for w in self.weights if getattr(w, "trainable", True)]

    @property
    def non_trainable_variables(self) -> list:
        """The weights whose ``trainable`` flag is cleared."""
        return [w for w in self.weights if not getattr(w, "trainable", True)]

    @property
    def trainable(self) -> bool:
        """True when at least one weight is trainable."""
        return any(getattr(w, "trainable", True) for w in self.weights)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for w in self.weights:
            w.trainable = bool(value)


class Diffable(Callable, Weighted):
    """A callable whose gradients are known; calls inside a GradientTape are recorded.

    After a call, ``self.inputs`` holds the inputs (in ``forward``'s parameter order) and
    ``self.outputs`` the output, which is what the gradient methods read.
    """

    gradient_tape = None  # the active GradientTape, set by its ``with`` block

    _signatures: dict[type, inspect.Signature] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        self.inputs = self._ordered_inputs(args, kwargs)
        output = as_output(self.forward(*args, **kwargs))
        self.outputs = [output]
        tape = Diffable.gradient_tape
        if tape is not None:
            tape.record(self, list(self.inputs), output)
        return output

    def _ordered_inputs(self, args: tuple, kwargs: dict) -> list:
        if not kwargs:
            return list(args)
        sig = self._signatures.get(type(self))
        if sig is None:
            sig = self._signatures[type(self)] = inspect.signature(self.forward)
        return list(sig.bind(*args, **kwargs).arguments.values())

    def get_input_gradients(self) -> list:
        """Local derivative of the output with respect to each input (see module doc)."""
        raise NotImplementedError(f"{type(self).__name__}.get_input_gradients")

    def get_weight_gradients(self) -> list:
        """Local derivative of the output with respect to each weight."""
        return [backend.xp().zeros_like(w) for w in self.weights]

    def compose_input_gradients(self, J: Any = None) -> list:
        """Chain rule for the inputs: upstream gradient ``J`` → one gradient per input.

        Each local gradient may come in any of the forms below (extra leading axes of length 1
        are dropped first: they hold the same values). ``J=None`` returns the local gradients.

        * shaped like ``J`` (an elementwise layer, a scalar loss): ``J * g``;
        * one Jacobian per example, ``(batch, in, out)``: ``dL/dx[b] = g[b] @ J[b]``;
        * one matrix for the whole batch, ``(in, out)`` (Dense's kernel): ``J @ g.T``.
        """
        grads = self.get_input_gradients()
        if J is None:
            return grads
        inputs = getattr(self, "inputs", [None] * len(grads))
        return [_compose_input(g, J, x) for g, x in zip(grads, inputs)]

    def compose_weight_gradients(self, J: Any = None) -> list:
        """Chain rule for the weights: upstream gradient ``J`` → one gradient per weight.

        Each local gradient may be (extra leading axes of length 1 dropped first):

        * one per example, ``(batch, *weight.shape)`` (Dense: ``x`` broadcast to ``(batch, in, out)``;
          its bias: ones ``(batch, out)``): the sum over the batch of ``g[b] * J[b]``;
        * shaped like the weight: ``sum over the batch of g * J[b]``;
        * ``(batch, in)`` for a ``(in, out)`` weight (Dense's ``x``): ``g.T @ J``.
        """
        grads = self.get_weight_gradients()
        if J is None:
            return grads
        return [_compose_weight(g, J, w) for g, w in zip(grads, self.weights)]


def squeeze_leading(value: Any, ndim: int) -> Any:
    """``value`` without leading axes of length 1 beyond ``ndim`` axes (a ``(1, n)`` row for ``(n,)``)."""
    while getattr(value, "ndim", 0) > ndim and value.shape[0] == 1:
        value = value[0]
    return value


def _compose_input(g: Any, upstream: Any, x: Any) -> Any:
    """``dL/dx`` from one local input gradient ``g`` and the upstream gradient
    (see compose_input_gradients)."""
    up = backend.asarray(upstream)
    x_ndim = getattr(x, "ndim", up.ndim)
    is_weight = isinstance(g, Variable)
    g = squeeze_leading(backend.asarray(g), x_ndim + 1)
    if up.ndim == 2 and g.ndim == 3 and g.shape[0] == up.shape[0] and g.shape[2] == up.shape[1]:
        return backend.xp().einsum("bio,bo->bi", g, up)
    g = squeeze_leading(g, x_ndim)
    x_shape = tuple(getattr(x, "shape", g.shape))
    # Dense's kernel (in, out); a kernel that happens to be shaped like the upstream is told apart by
    # being a weight
    if (up.ndim == 2 and g.ndim == 2 and g.shape == (x_shape[-1], up.shape[1])
            and (g.shape != up.shape or is_weight)):
        return up @ g.T
    return up * g


def _compose_weight(g: Any, upstream: Any, w: Any) -> Any:
    """``dL/dw`` from one local weight gradient ``g`` and the upstream gradient
    (see compose_weight_gradients)."""
    up = backend.asarray(upstream)
    w_shape = tuple(w.shape)
    g = squeeze_leading(backend.asarray(g), len(w_shape) + 1)
    if g.shape == (up.shape[0], *w_shape):
        per_example = up.reshape(up.shape[0], *([1] * (len(w_shape) - up.ndim + 1)), *up.shape[1:])
        return (g * per_example).sum(axis=0)
    g = squeeze_leading(g, len(w_shape))
    # Dense's x (batch, in) for its (in, out) kernel; when batch == in it is read as x too
    if (len(w_shape) == 2 and up.ndim == 2 and g.shape == (up.shape[0], w_shape[0])
            and up.shape[1] == w_shape[1]):
        return g.T @ up
    return (g * up).sum(axis=0) if up.ndim == len(w_shape) + 1 else g * up
