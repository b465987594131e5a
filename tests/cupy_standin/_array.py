"""The stand-in's ``ndarray``: numpy memory behind a type that refuses to be read as a host array.

Modelled on CuPy 13 (``cupy.ndarray``), where it matters to code written for numpy and CuPy both:

* ``np.asarray(a)`` and every implicit conversion raise ``TypeError`` (``__array__``);
* the host copy is explicit, ``a.get()`` / ``cupy.asnumpy(a)``, or a Python scalar out of a one-element
  array (``float(a)``, ``int(a)``, ``bool(a)``, ``a.item()``, ``a.tolist()``, ``repr(a)``): each is a
  transfer, recorded in ``ledger.to_host`` with its call site;
* a numpy array as an operand of a ufunc or an arithmetic operator raises ``TypeError``
  ("Unsupported type"), from either side (numpy's own ufuncs dispatch here through ``__array_ufunc__``);
* reductions and integer indexing give 0-d arrays, never numpy scalars;
* subclasses work as CuPy (>= 11) documents: ``a.view(Sub)`` (view casting) calls
  ``Sub.__array_finalize__(a)``; slices, methods and ufunc results keep the subclass ("new from template").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._ledger import ledger

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. "
             "Please use `.get()` to construct a NumPy array explicitly.")
SCALARS = (bool, int, float, complex, np.generic)
_type = type  # `view` takes numpy's parameter names, one of which is `type`


def wrap(data: Any, cls: type | None = None, template: Any = None) -> "ndarray":
    """A device array of ``cls`` over the numpy result ``data`` (a numpy scalar becomes a 0-d array)."""
    if not isinstance(data, np.ndarray):
        data = np.asarray(data)
    obj = object.__new__(cls or ndarray)
    obj._data = data
    ledger.created(data.dtype)
    if type(obj) is not ndarray:
        obj.__array_finalize__(template)
    return obj


def unwrap(value: Any, where: str) -> Any:
    """``value`` with every device array replaced by its memory; a host array is refused as CuPy does."""
    if isinstance(value, ndarray):
        return value._data
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)} (cupy.{where} takes cupy arrays; "
                        "move host data with cupy.asarray first)")
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(item, where) for item in value)
    return value


def to_device(value: Any, kind: str) -> np.ndarray:
    """Host data (numpy array, nested list, number) copied "to the device": recorded as a transfer."""
    host = np.array(value, copy=True)
    ledger.device(kind, host.nbytes)
    return host


def result_class(*operands: Any) -> type:
    """The subclass a ufunc's result takes: the first operand whose type derives from ndarray."""
    for item in operands:
        if isinstance(item, ndarray) and type(item) is not ndarray:
            return type(item)
    return ndarray


def _index(key: Any) -> Any:
    """An index with device arrays unwrapped; a host index array is moved to the device as CuPy does."""
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, ndarray):
        return key._data
    if isinstance(key, (np.ndarray, list)):
        return to_device(key, "index")
    return key


def _binary(name: str, reflected: bool = False):
    def method(self, other):
        from . import _routines

        ufunc = getattr(_routines, name)
        return ufunc(other, self) if reflected else ufunc(self, other)

    method.__name__ = f"__{'r' if reflected else ''}{name}__"
    return method


def _inplace(name: str):
    def method(self, other):
        from . import _routines

        getattr(_routines, name)(self, other, out=self)
        return self

    return method


def _unary(name: str):
    def method(self):
        from . import _routines

        return getattr(_routines, name)(self)

    return method


def _method(name: str, keeps_class: bool = True):
    """A numpy method on the memory; results stay device arrays (of ``self``'s class when ``keeps_class``)."""
    def method(self, *args, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = unwrap(out, name)
        result = getattr(self._data, name)(*unwrap(args, name), **unwrap(kwargs, name))
        if out is not None:
            return out
        return wrap(result, type(self) if keeps_class else ndarray, self)

    method.__name__ = name
    return method


class ndarray:
    """A device array (see the module docstring). ``ndarray(shape, dtype)`` allocates as CuPy's does."""

    __array_priority__ = 100  # above numpy's: `host + device` comes here (and fails) rather than to numpy
    __hash__ = None

    def __init__(self, shape: Any, dtype: Any = float, order: str = "C") -> None:
        self._data = np.empty(shape, dtype=dtype, order=order)
        ledger.created(self._data.dtype)
        if type(self) is not ndarray:
            self.__array_finalize__(None)

    def __array_finalize__(self, obj: Any) -> None:
        """Subclasses override this; ``obj`` is the source array (view casting, new from template) or None."""

    # --- what makes it a device array -------------------------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from . import _routines

        ours = getattr(_routines, ufunc.__name__, None)
        if method != "__call__" or ours is None:
            return NotImplemented
        return ours(*inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from . import _routines

        ours = getattr(_routines, func.__name__, None)
        return NotImplemented if ours is None else ours(*args, **kwargs)

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (id(self._data), False),
                "strides": None if self._data.flags.c_contiguous else self._data.strides, "version": 3}

    def get(self, stream: Any = None, order: str = "C", out: Any = None) -> np.ndarray:
        """Copy to the host (a transfer): a new ``numpy.ndarray``."""
        ledger.host("get", self._data.nbytes)
        host = np.array(self._data, order=order, copy=True)
        if out is not None:
            out[...] = host
            return out
        return host

    def _scalar(self, kind: str) -> Any:
        if self._data.size != 1:
            raise TypeError(f"only size-1 arrays can be converted to Python scalars (received shape "
                            f"{self.shape} for {kind})")
        ledger.host(kind, self._data.itemsize)
        return self._data.reshape(()).item()

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __complex__(self) -> complex:
        return complex(self._scalar("complex"))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous.")
        return bool(self._scalar("bool"))

    def __index__(self) -> int:
        if self._data.ndim != 0 or self._data.dtype.kind not in "iu":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._scalar("index"))

    def item(self) -> Any:
        return self._scalar("item")

    def tolist(self) -> Any:
        ledger.host("tolist", self._data.nbytes)
        return self._data.tolist()

    def __repr__(self) -> str:
        ledger.host("repr", self._data.nbytes)
        return repr(self._data)

    def __str__(self) -> str:
        ledger.host("str", self._data.nbytes)
        return str(self._data)

    def __format__(self, spec: str) -> str:
        return format(self._scalar("format"), spec) if self._data.ndim == 0 else str(self)

    # --- shape and type ---------------------------------------------------------------------
    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    dtype = property(lambda self: self._data.dtype)
    strides = property(lambda self: self._data.strides)
    nbytes = property(lambda self: self._data.nbytes)
    itemsize = property(lambda self: self._data.itemsize)
    flags = property(lambda self: self._data.flags)
    T = property(lambda self: wrap(self._data.T, type(self), self))

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def view(self, dtype: Any = None, type: Any = None) -> "ndarray":
        """A view: ``view(Sub)`` is view casting (``Sub.__array_finalize__(self)``); ``view(dtype)``
        reinterprets the memory."""
        cls = self.__class__
        if isinstance(dtype, _type) and issubclass(dtype, ndarray):
            dtype, type = None, dtype
        data = self._data.view() if dtype is None else self._data.view(dtype)
        return wrap(data, type or cls, self)

    def __getitem__(self, key: Any) -> "ndarray":
        return wrap(self._data[_index(key)], self.__class__, self)

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, ndarray):
            self._data[_index(key)] = value._data
            return
        basic = not any(isinstance(k, (np.ndarray, list, ndarray))
                        for k in (key if isinstance(key, tuple) else (key,)))
        if isinstance(value, (np.ndarray, list, tuple)):
            if basic and np.ndim(value) != 0:
                # CuPy fills a basic-indexed target from a scalar only (ndarray.fill)
                raise ValueError(f"non-scalar {_kind(value)} cannot be used for fill")
            value = to_device(value, "setitem")
        self._data[_index(key)] = value

    def __copy__(self) -> "ndarray":
        return self.copy()

    def __deepcopy__(self, memo: Any) -> "ndarray":
        return self.copy()

    # --- arithmetic: all through the ufuncs, so a host operand fails the same way everywhere ----
    __add__, __radd__, __iadd__ = _binary("add"), _binary("add", True), _inplace("add")
    __sub__, __rsub__, __isub__ = _binary("subtract"), _binary("subtract", True), _inplace("subtract")
    __mul__, __rmul__, __imul__ = _binary("multiply"), _binary("multiply", True), _inplace("multiply")
    __truediv__, __rtruediv__ = _binary("true_divide"), _binary("true_divide", True)
    __itruediv__ = _inplace("true_divide")
    __floordiv__, __rfloordiv__ = _binary("floor_divide"), _binary("floor_divide", True)
    __mod__, __rmod__ = _binary("remainder"), _binary("remainder", True)
    __pow__, __rpow__, __ipow__ = _binary("power"), _binary("power", True), _inplace("power")
    __matmul__, __rmatmul__ = _binary("matmul"), _binary("matmul", True)
    __and__, __rand__, __or__, __ror__ = (_binary("bitwise_and"), _binary("bitwise_and", True),
                                          _binary("bitwise_or"), _binary("bitwise_or", True))
    __xor__, __rxor__ = _binary("bitwise_xor"), _binary("bitwise_xor", True)
    __lt__, __le__, __gt__, __ge__ = (_binary("less"), _binary("less_equal"), _binary("greater"),
                                      _binary("greater_equal"))
    __eq__, __ne__ = _binary("equal"), _binary("not_equal")
    __neg__, __pos__, __abs__, __invert__ = (_unary("negative"), _unary("positive"), _unary("absolute"),
                                            _unary("invert"))

    # --- methods: numpy's, on the memory, results on the device -------------------------------
    for _name in ("reshape", "transpose", "swapaxes", "ravel", "flatten", "squeeze", "copy", "astype",
                  "sum", "mean", "max", "min", "prod", "var", "std", "any", "all", "cumsum", "clip",
                  "repeat", "take", "diagonal", "round", "conj"):
        locals()[_name] = _method(_name)
    for _name in ("argmax", "argmin", "nonzero", "dot"):
        locals()[_name] = _method(_name, keeps_class=False)
    del _name

    def fill(self, value: Any) -> None:
        if isinstance(value, np.ndarray) and value.ndim != 0:
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        self._data.fill(value.item() if isinstance(value, np.ndarray) else value)


def _kind(value: Any) -> str:
    return "numpy.ndarray" if isinstance(value, np.ndarray) else _type(value).__name__


ndarray.__module__ = "cupy"  # as the real class reports it: code that checks `type(a).__module__` sees "cupy"
