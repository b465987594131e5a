"""Plug the stand-in in as ``cupy`` (and beras' backend onto it) for one test, and out again after."""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def standin() -> ModuleType:
    """The stand-in module (imported once, as ``tests.cupy_standin``)."""
    import tests.cupy_standin as module

    return module


@contextlib.contextmanager
def as_cupy() -> Iterator[ModuleType]:
    """``import cupy`` gives the stand-in inside the block; the real one (or none) comes back after.

    beras' backend keeps what it imported (its active module and the Tensor twins built on
    ``cupy.ndarray``): ``backend.set_backend`` re-imports, and the twin cache is keyed by module.
    """
    module = standin()
    saved = {name: sys.modules[name] for name in ("cupy", "cupy.cuda") if name in sys.modules}
    sys.modules["cupy"], sys.modules["cupy.cuda"] = module, module.cuda
    try:
        yield module
    finally:
        for name in ("cupy", "cupy.cuda"):
            sys.modules.pop(name, None)
        sys.modules.update(saved)


@contextlib.contextmanager
def beras_on_standin() -> Iterator[ModuleType]:
    """The stand-in as ``cupy`` and beras' backend set to it; the previous backend restored after."""
    from beras import backend

    previous = backend.get_backend()
    with as_cupy() as module:
        backend.set_backend("cupy")
        try:
            yield module
        finally:
            backend.set_backend(previous if previous != "cupy" else "numpy")


def copy_as_cupy(lib: Path) -> Path:
    """Copy the stand-in to ``lib/cupy`` (``lib``: a folder on a sandbox's PYTHONPATH), where
    ``import cupy`` finds it."""
    target = lib / "cupy"
    shutil.copytree(HERE, target, ignore=shutil.ignore_patterns("__pycache__", "plug.py"))
    return target
