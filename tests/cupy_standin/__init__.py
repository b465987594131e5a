"""A strict CuPy stand-in for the tests: CuPy 13's behaviour at the host/device boundary, on numpy.

Never a product dependency: ``tests/cupy_standin/plug.py`` installs it as ``sys.modules["cupy"]`` for
one test, and the sandbox test copies this folder into the job's ``lib/`` as ``cupy``. It proves that
code never reads a device array as a host array, never mixes host arrays into device math, and
transfers only where it says so (``ledger``); it proves nothing about kernels, cuBLAS numerics,
memory or speed. See ``_array.py`` for the rules it enforces.
"""

from __future__ import annotations

import numpy as _np

from . import _routines, cuda
from ._array import ndarray
from ._ledger import Ledger, Transfer, ledger
from ._routines import array, asanyarray, asarray, asnumpy, get_array_module, result_type

# The generated functions (ufuncs, routines, creation), by the names CuPy gives them.
globals().update({name: getattr(_routines, name) for name in _routines.GENERATED})

__version__ = "13.6.0"  # the CuPy release whose behaviour this models
STANDIN = True  # how a test tells the stand-in from the real CuPy

dtype = _np.dtype
finfo, iinfo = _np.finfo, _np.iinfo
bool_, int8, int16, int32, int64 = _np.bool_, _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
float16, float32, float64 = _np.float16, _np.float32, _np.float64
complex64, complex128 = _np.complex64, _np.complex128
inf, nan, pi, e, newaxis = _np.inf, _np.nan, _np.pi, _np.e, _np.newaxis

__all__ = ["Ledger", "Transfer", "array", "asanyarray", "asarray", "asnumpy", "cuda", "get_array_module",
           "ledger", "ndarray", "result_type"]
