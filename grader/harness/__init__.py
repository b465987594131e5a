"""The test harness: how hidden and public tests reach student code (``student``, ``fetch``) and judge it.

Test authors import from here::

    from grader.harness import assert_close, fetch, note

and take the ``student``, ``reference``, ``seed`` and ``rng`` fixtures from the pytest
plugin ``grader.harness.plugin``. See assignments/README.md.
"""

from grader.harness.checks import assert_close, assert_equal
from grader.harness.handles import FetchError, Handle, HarnessError, StudentError, fetch
from grader.harness.notes import note

__all__ = ["FetchError", "Handle", "HarnessError", "StudentError", "assert_close", "assert_equal", "fetch", "note"]
