"""Fixtures for the harness tests: fake student submissions written into tmp folders.

``pytester`` (used by test_plugin.py) is registered here. ``pytest_plugins = ["pytester"]``
would be the usual spelling, but pytest refuses ``pytest_plugins`` in a conftest below the
rootdir when the whole suite is collected (``pytest`` from the repository root), so the
plugin is imported from ``pytest_configure`` instead, which pytest also calls for conftests
it meets during collection.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.harness.handles import Handle, Session
from grader.harness.inprocess import connect

REPO = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO / "reference"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


def write_package(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> source, dedented) under ``root``; return ``root``."""
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    return root


# A small student ``beras``: every behaviour the handle tests need, one function or class each.
FAKE_CORE = '''
    import importlib.util

    import numpy as np

    counter = {"calls": 0}


    def add(a, b=0):
        return a + b


    def count():
        counter["calls"] += 1
        return counter["calls"]


    def identity(x):
        return x


    def boom(message="boom"):
        raise ValueError(message)


    def check_shape(x):
        raise ValueError(f"bad shape {x.shape}")


    def stop():
        raise StopIteration("ran dry")


    def exit_now():
        raise SystemExit(3)


    class BadStr(Exception):
        def __str__(self):
            raise RuntimeError("no message for you")


    def bad_str():
        raise BadStr()


    class Recorder:
        """A context manager that records its calls and tries to swallow every exception."""

        def __init__(self):
            self.events = []

        def __enter__(self):
            self.events.append("enter")
            return self

        def __exit__(self, exc_type, exc, tb):
            self.events.append("exit" if exc_type is None else f"exit:{exc}")
            return True


    class Bag:
        def __init__(self, items):
            self.items = list(items)

        def __iter__(self):
            return iter(self.items)

        def __len__(self):
            return len(self.items)

        def __getitem__(self, key):
            return self.items[key]

        def __setitem__(self, key, value):
            self.items[key] = value


    def countdown(n):
        while n > 0:
            yield n
            n -= 1


    class Liar:
        """Equal to everything, truthy, convertible: a handle to it must not be trusted."""

        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __hash__ = object.__hash__

        def __bool__(self):
            return True

        def __float__(self):
            return 1.0

        def __int__(self):
            return 1

        def __index__(self):
            return 1

        def __len__(self):
            return 1

        def __array__(self, dtype=None, copy=None):
            return np.ones(3)


    class Opaque:
        pass


    def make_opaque():
        return Opaque()


    def plain_list_with_opaque():
        return [1, Opaque()]


    def mutate(x):
        x[...] = -1
        return x.sum()


    def describe_args(*args, **kwargs):
        return {"args": [type(a).__name__ for a in args], "kwargs": sorted(kwargs)}


    class Box:
        def __init__(self, value):
            self.value = value


    def unbox(box):
        return box.value


    class Sub(np.ndarray):
        pass


    def subclass_array():
        return np.arange(6.0).reshape(2, 3).view(Sub)


    def huge_int():
        return 10**5000


    def string_array():
        return np.array(["a", "b"])


    def origin():
        return __file__


    def sibling_fail(path):
        spec = importlib.util.spec_from_file_location("sibling_helper_for_harness_tests", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.fail()


    class Layer:
        def __init__(self, input_size, output_size):
            self.input_size, self.output_size = input_size, output_size

        def __call__(self, x):
            if x.shape[-1] != self.input_size:
                raise ValueError(f"Layer expects {self.input_size} features; received shape {x.shape}")
            return np.zeros((x.shape[0], self.output_size))
'''

FAKE_SUBMISSION = {
    "beras/__init__.py": '''
        """A fake student beras for the harness tests."""

        from beras import core
        from beras.core import Bag, Box, Layer, Recorder

        NAME = "fake"
    ''',
    "beras/core.py": FAKE_CORE,
}


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    """A folder holding the fake student ``beras``."""
    return write_package(tmp_path / "submission", FAKE_SUBMISSION)


@pytest.fixture
def session(fake_root: Path) -> Session:
    return connect(fake_root)


@pytest.fixture
def student(session: Session) -> Handle:
    return session.root()


@pytest.fixture
def core(student: Handle) -> Handle:
    return student.beras.core
