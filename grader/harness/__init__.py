"""The test harness: how hidden and public tests reach student code (``student``, ``fetch``) and judge it.

Test authors import from here::

    from grader.harness import assert_close, fetch, note

and take the ``student``, ``reference``, ``seed`` and ``rng`` fixtures from the pytest
plugin ``grader.harness.plugin``. See assignments/README.md.

The names are imported on first use (PEP 562): the sandbox's launcher imports only what it
needs from this package, and must not pay for numpy before it starts the judge.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {"assert_close": "checks", "assert_equal": "checks", "FetchError": "handles", "Handle": "handles",
            "HarnessError": "handles", "StudentError": "handles", "fetch": "handles", "note": "notes"}

__all__ = ["FetchError", "Handle", "HarnessError", "StudentError", "assert_close", "assert_equal", "fetch",
           "note"]

if TYPE_CHECKING:
    from grader.harness.checks import assert_close, assert_equal
    from grader.harness.handles import FetchError, Handle, HarnessError, StudentError, fetch
    from grader.harness.notes import note


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
