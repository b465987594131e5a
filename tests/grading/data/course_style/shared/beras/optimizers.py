"""Optimizers: ``apply_gradients(params, grads)`` updates each parameter in place.

With ``g`` the gradient, ``lr`` the learning rate and ``t`` the step count (from 1):

* BasicOptimizer: ``w -= lr * g``
* SGD (PyTorch's form): ``v = momentum * v + g``; ``w -= lr * (g + momentum * v)`` with
  ``nesterov``, else ``w -= lr * v``
* RMSProp: ``v = beta * v + (1 - beta) * g**2``; ``w -= lr * g / (sqrt(v) + epsilon)``
* Adam: ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g**2``;
  ``w -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + epsilon)``

Optimizer state (``v``, ``m``) is kept per parameter object, so the order of the lists
may change between calls.
"""

from __future__ import annotations

from typing import Any

from beras import backend


class BasicOptimizer:
    """Plain gradient descent: ``w -= lr * g``."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = float(learning_rate)
        self._state: dict[int, tuple[Any, dict]] = {}

    def apply_gradients(self, params: list, grads: list) -> None:
        """Update each parameter in place from its gradient.

        Raises:
            ValueError: when the lists differ in length or a gradient's shape differs
                from its parameter's.
        """
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(
                f"{type(self).__name__}.apply_gradients expects one gradient per parameter. "
                f"Received: {len(params)} parameters and {len(grads)} gradients"
            )
        # check every pair before touching any parameter: an error must change nothing
        for index, (param, grad) in enumerate(zip(params, grads)):
            if tuple(param.shape) != tuple(grad.shape):
                raise ValueError(
                    f"{type(self).__name__}: gradient #{index} has shape {tuple(grad.shape)}, "
                    f"its parameter {tuple(param.shape)}"
                )
        for param, grad in zip(params, grads):
            state = self._state.setdefault(id(param), (param, {}))[1]
            w = backend.asarray(param)
            w[...] = self.step(w, backend.asarray(grad), state)

    def step(self, w: Any, g: Any, state: dict) -> Any:
        """Return the new value of ``w`` given its gradient ``g`` and its ``state`` dict."""
        return w - self.learning_rate * g


class SGD(BasicOptimizer):
    """Stochastic gradient descent with (optionally Nesterov) momentum, as in PyTorch."""

    def __init__(self, learning_rate: float, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(learning_rate)
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def step(self, w: Any, g: Any, state: dict) -> Any:
        raise NotImplementedError("SGD is not part of the homework")


class RMSProp(BasicOptimizer):
    """Divide the step by a running root-mean-square of recent gradients."""

    def __init__(self, learning_rate: float, beta: float = 0.9, epsilon: float = 1e-6) -> None:
        super().__init__(learning_rate)
        self.beta, self.epsilon = float(beta), float(epsilon)

    def step(self, w: Any, g: Any, state: dict) -> Any:
        xp = backend.xp()
        v = state.get("v", 0.0)
        v = self.beta * v + (1 - self.beta) * g * g
        state["v"] = v
        return w - self.learning_rate * g / (xp.sqrt(v) + self.epsilon)


class Adam(BasicOptimizer):
    """Adaptive moments with bias correction (Kingma & Ba)."""

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
    ) -> None:
        super().__init__(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def step(self, w: Any, g: Any, state: dict) -> Any:
        xp = backend.xp()
        t = state.get("t", 0) + 1
        m = self.beta_1 * state.get("m", 0.0) + (1 - self.beta_1) * g
        v = self.beta_2 * state.get("v", 0.0) + (1 - self.beta_2) * g * g
        state.update(t=t, m=m, v=v)
        m_hat = m / (1 - self.beta_1**t)
        v_hat = v / (1 - self.beta_2**t)
        return w - self.learning_rate * m_hat / (xp.sqrt(v_hat) + self.epsilon)
