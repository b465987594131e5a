"""The stand-in's functions: the part of CuPy's API that beras and the tests call, with CuPy's strictness.

Ufuncs take device arrays and Python or numpy scalars; a numpy array or a list is refused with CuPy's
``TypeError: Unsupported type``. Creation functions (``asarray``, ``array``) are the one door from the
host, and each use of it is recorded as a host-to-device transfer. Only what was needed is here: an
``AttributeError`` from the stand-in means beras (or a test) started to use more of CuPy, and the name
belongs in the lists below once checked against CuPy's documentation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._array import SCALARS, ndarray, result_class, to_device, unwrap, wrap
from ._ledger import ledger


def _operand(value: Any, name: str) -> Any:
    if isinstance(value, ndarray):
        return value._data
    if isinstance(value, SCALARS):
        return value
    raise TypeError(f"Unsupported type {type(value)} (an operand of cupy.{name})")


def _ufunc(name: str):
    numpy_ufunc = getattr(np, name)

    def ufunc(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        inputs = [_operand(a, name) for a in args]
        if out is not None:
            target = out[0] if isinstance(out, tuple) else out
            if not isinstance(target, ndarray):
                raise TypeError(f"Output arrays of cupy.{name} must be cupy arrays; received {type(target)}")
            numpy_ufunc(*inputs, out=target._data, **unwrap(kwargs, name))
            return target
        return wrap(numpy_ufunc(*inputs, **unwrap(kwargs, name)), result_class(*args))

    ufunc.__name__ = name
    return ufunc


UFUNCS = ("add", "subtract", "multiply", "true_divide", "divide", "floor_divide", "remainder", "power",
          "matmul", "negative", "positive", "absolute", "abs", "invert", "bitwise_and", "bitwise_or",
          "bitwise_xor", "less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "maximum",
          "minimum", "exp", "log", "log1p", "expm1", "sqrt", "square", "tanh", "logaddexp", "sign",
          "isfinite", "isnan", "logical_and", "logical_or", "logical_not")
for _name in UFUNCS:
    globals()[_name] = _ufunc(_name)


def _routine(name: str, keeps_class: bool = False):
    """A numpy function over device arrays; any host array among the arguments is refused."""
    numpy_function = getattr(np, name)

    def routine(*args: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        result = numpy_function(*unwrap(args, name), **unwrap(kwargs, name))
        if out is not None:
            return out
        cls = result_class(*args) if keeps_class else ndarray
        if isinstance(result, tuple):
            return tuple(wrap(r, cls) for r in result)
        return wrap(result, cls)

    routine.__name__ = name
    return routine


# Functions over arrays: their result is a plain device array (subclasses are not kept, as numpy's
# functions return base arrays for these).
ROUTINES = ("where", "clip", "einsum", "ascontiguousarray", "pad", "concatenate", "stack", "argmax", "argmin",
            "sum", "mean", "max", "min", "amax", "amin", "prod", "transpose", "reshape", "swapaxes",
            "expand_dims", "squeeze", "broadcast_to", "dot", "tensordot", "outer", "allclose", "isclose",
            "array_equal", "any", "all", "count_nonzero", "cumsum", "flip", "nonzero", "flatnonzero",
            "moveaxis", "tile", "repeat", "take", "unique", "searchsorted", "diagonal", "trace", "round")
for _name in ROUTINES:
    globals()[_name] = _routine(_name)


def _creation(name: str):
    """``zeros``, ``ones``, ``empty``, ``full``, ``eye``, ``arange``...: made on the device, no transfer."""
    numpy_function = getattr(np, name)

    def create(*args: Any, **kwargs: Any) -> ndarray:
        return wrap(numpy_function(*unwrap(args, name), **unwrap(kwargs, name)))

    create.__name__ = name
    return create


CREATION = ("zeros", "ones", "empty", "full", "eye", "identity", "arange", "linspace")
for _name in CREATION:
    globals()[_name] = _creation(_name)


def _like(name: str):
    numpy_function = getattr(np, name)

    def create(a: Any, *args: Any, **kwargs: Any) -> ndarray:
        if not isinstance(a, ndarray):
            raise TypeError(f"Unsupported type {type(a)} (cupy.{name} takes a cupy array)")
        return wrap(numpy_function(a._data, *unwrap(args, name), **unwrap(kwargs, name)))

    create.__name__ = name
    return create


LIKE = ("zeros_like", "ones_like", "empty_like", "full_like")
for _name in LIKE:
    globals()[_name] = _like(_name)
del _name
GENERATED = UFUNCS + ROUTINES + CREATION + LIKE + ("asnumpy", "shape", "ndim", "size", "may_share_memory",
                                                    "shares_memory")


def _holds_device(value: Any) -> bool:
    if isinstance(value, ndarray):
        return True
    return isinstance(value, (list, tuple)) and any(_holds_device(v) for v in value)


def array(obj: Any, dtype: Any = None, copy: bool = True, order: str = "K", subok: bool = False,
          ndmin: int = 0) -> ndarray:
    """A device array from ``obj``: a copy of a device array, or host data moved to the device."""
    if isinstance(obj, ndarray):
        data = np.array(obj._data, dtype=dtype, copy=copy, order=order, ndmin=ndmin)
        return wrap(data, type(obj) if subok else ndarray, obj)
    if _holds_device(obj):
        if any(isinstance(v, np.ndarray) for v in obj):
            raise TypeError("Unsupported type <class 'numpy.ndarray'> (cupy.array of a list mixing device "
                            "and host arrays)")
        return wrap(np.array(unwrap(obj, "array"), dtype=dtype, order=order, ndmin=ndmin))
    return wrap(np.array(to_device(obj, "asarray"), dtype=dtype, copy=False, order=order, ndmin=ndmin))


def asarray(a: Any, dtype: Any = None, order: Any = None) -> ndarray:
    """``a`` itself when it already is a plain device array of ``dtype``; else ``array(a, copy=False)``."""
    if isinstance(a, ndarray):
        data = a._data if dtype is None else a._data.astype(dtype, copy=False)
        if data is a._data and type(a) is ndarray:
            return a
        return wrap(data, ndarray, a)
    return array(a, dtype=dtype, copy=False, order=order or "K")


def asanyarray(a: Any, dtype: Any = None, order: Any = None) -> ndarray:
    if isinstance(a, ndarray) and (dtype is None or a.dtype == dtype):
        return a
    return asarray(a, dtype, order)


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None) -> np.ndarray:
    """The host copy of a device array (a transfer); anything else through ``numpy.asarray``."""
    if isinstance(a, ndarray):
        ledger.host("asnumpy", a.nbytes)
        host = np.array(a._data, order=order, copy=True)
        if out is not None:
            out[...] = host
            return out
        return host
    return np.asarray(a, order=order)


def get_array_module(*args: Any) -> Any:
    import sys

    if any(isinstance(a, ndarray) for a in args):
        return sys.modules[__name__.rpartition(".")[0]]
    return np


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    return np.result_type(*(a.dtype if isinstance(a, ndarray) else a for a in arrays_and_dtypes))


def shape(a: Any) -> tuple:
    return tuple(a.shape)


def ndim(a: Any) -> int:
    return a.ndim


def size(a: Any) -> int:
    return a.size


def may_share_memory(a: Any, b: Any, max_work: Any = None) -> bool:
    return bool(np.may_share_memory(unwrap(a, "may_share_memory"), unwrap(b, "may_share_memory")))


def shares_memory(a: Any, b: Any, max_work: Any = None) -> bool:
    return bool(np.shares_memory(unwrap(a, "shares_memory"), unwrap(b, "shares_memory")))
