"""The in-process student: the submission imported beside the reference, behind the same boundary.

Used where there is nothing to protect: a student running the public tests on their own
machine, and the release gate running the reference and the stubs. Every request still
goes through ``codec.pack``/``unpack`` and the ``StudentServer``, so a test that works here
works unchanged against the sandboxed student process.

Both the submission and the reference are packages named ``beras`` whose modules import
each other absolutely (``from beras.core import ...``). The submission's modules are kept
in a private table and swapped into ``sys.modules`` only while a request is served, so the
two never see each other's modules.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from grader.harness.handles import HarnessError, Session, Transport
from grader.harness.server import StudentServer


def top_level_modules(root: Path) -> set[str]:
    """The importable top-level names in ``root``: packages (folders with ``__init__.py``) and modules."""
    names = {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    names |= {p.stem for p in root.glob("*.py")
              if p.stem.isidentifier() and p.stem not in ("conftest", "setup")}
    return {name for name in names if name.isidentifier()}


class IsolatedImports:
    """Import packages from ``root`` into a private module table.

    Args:
        root: the submission folder (it holds ``beras/``).
        names: the top-level names that belong to the submission.
    """

    def __init__(self, root: Path, names: set[str]) -> None:
        self.root = Path(root).resolve()
        self.names = frozenset(names)
        self._modules: dict[str, ModuleType] = {}
        self._verified: set[str] = set()

    def _owned(self, module_name: str) -> bool:
        return module_name.split(".")[0] in self.names

    def _take(self) -> dict[str, ModuleType]:
        taken = {name: module for name, module in sys.modules.items() if self._owned(name)}
        for name in taken:
            del sys.modules[name]
        return taken

    @contextmanager
    def active(self) -> Iterator[None]:
        """Within this block, ``sys.modules`` holds the submission's modules instead of anyone else's."""
        saved = self._take()
        sys.modules.update(self._modules)
        sys.path.insert(0, str(self.root))
        try:
            yield
        finally:
            sys.path.remove(str(self.root))
            self._modules = self._take()
            sys.modules.update(saved)
            self._check_origin()

    def import_module(self, name: str) -> ModuleType:
        """Import ``name`` from the submission; call inside :meth:`active`."""
        importlib.invalidate_caches()
        return importlib.import_module(name)

    def _check_origin(self) -> None:
        # An installed package of the same name (the editable reference) must never stand in
        # for a file the submission lacks.
        # Name every such module: the first one imported is often not the one the submission lacks.
        fresh = {name: module for name, module in self._modules.items() if name not in self._verified}
        foreign = {name: module.__file__ for name, module in fresh.items()
                   if getattr(module, "__file__", None)
                   and not Path(module.__file__).resolve().is_relative_to(self.root)}
        if not foreign:
            self._verified.update(fresh)  # resolve each module's path once, not on every request
            return
        if foreign:
            self._modules.clear()
            self._verified.clear()
            name, origin = next(iter(foreign.items()))
            others = sorted(set(foreign) - {name})
            also = f" (also from outside: {', '.join(others)})" if others else ""
            raise HarnessError(
                f"module {name} was imported from {origin}, outside the submission {self.root}{also}; "
                "is a file missing from the submission?"
            )


class InProcessTransport(Transport):
    """Serve requests by calling a ``StudentServer`` in this process, inside the isolation."""

    def __init__(self, root: Path, names: set[str] | None = None) -> None:
        root = Path(root).resolve()
        self.imports = IsolatedImports(root, names if names is not None else top_level_modules(root))
        self.server = StudentServer(self.imports.import_module, set(self.imports.names), root)

    def exchange(self, request: bytes, timeout_s: float | None = None) -> bytes:
        with self.imports.active():
            return self.server.handle_bytes(request)


def connect(root: Path | str) -> Session:
    """A session with the submission in ``root``, imported in this process."""
    return Session(InProcessTransport(Path(root)))
