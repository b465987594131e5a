"""Weight initializers and the seeded random generator every part of Beras draws from.

Weights are drawn on the host with numpy and then moved to the active backend, so the
same seed gives the same initial weights on numpy and on CuPy.

Names (``initializer=`` in Dense and Conv2D):

=================  ==========================================================
``zero``           all zeros
``normal``         N(0, 0.05²) (Keras' ``RandomNormal`` default)
``xavier``         Glorot normal: N(0, 2 / (fan_in + fan_out))
``xavier_uniform`` Glorot uniform: U(±sqrt(6 / (fan_in + fan_out)))
``kaiming``        He normal: N(0, 2 / fan_in)
``kaiming_uniform`` He uniform: U(±sqrt(6 / fan_in))
=================  ==========================================================

Names are matched without regard to case, and a space or a hyphen stands for the
underscore: the course's handout spells them ``"xavier uniform"`` and ``"kaiming uniform"``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from beras import backend

INITIALIZERS = ("zero", "normal", "xavier", "xavier_uniform", "kaiming", "kaiming_uniform")

_rng = {"generator": np.random.default_rng()}


def set_seed(seed: int | None) -> None:
    """Seed the generator used for weight initialization and data shuffling."""
    _rng["generator"] = np.random.default_rng(seed)


def rng() -> np.random.Generator:
    """The generator Beras draws from (see ``set_seed``)."""
    return _rng["generator"]


def fans(shape: tuple) -> tuple[int, int]:
    """Return (fan_in, fan_out): Dense ``(in, out)``; conv ``(fh, fw, in_ch, out_ch)``."""
    if len(shape) < 2:
        size = int(shape[0]) if shape else 1
        return size, size
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return int(shape[-2]) * receptive, int(shape[-1]) * receptive


def initialize(name: str, shape: tuple, dtype: Any = None, owner: str = "layer") -> Any:
    """Draw an array of ``shape`` with the named initializer.

    Raises:
        ValueError: for an unknown initializer name.
    """
    key = str(name).lower().replace(" ", "_").replace("-", "_")
    gen = rng()
    fan_in, fan_out = fans(shape)
    if key == "zero":
        host = np.zeros(shape)
    elif key == "normal":
        host = gen.normal(0.0, 0.05, size=shape)
    elif key == "xavier":
        host = gen.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)
    elif key == "xavier_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        host = gen.uniform(-limit, limit, size=shape)
    elif key == "kaiming":
        host = gen.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
    elif key == "kaiming_uniform":
        limit = math.sqrt(6.0 / fan_in)
        host = gen.uniform(-limit, limit, size=shape)
    else:
        raise ValueError(
            f"{owner}: unknown initializer; expected one of {INITIALIZERS}. Received: {name!r}"
        )
    return backend.to_device(host.astype(dtype or backend.floatx()))
