"""Per-call deadlines: each test's own, derived from the reference's time, and a short one after a hang.

Both rules are applied by the judge (``CallDeadlines``) from the release's reference times and the
assignment's ``[limits]``, which the worker hands it (``DeadlineRule``, ``judge/deadlines.json``):

* **A deadline that fits the work.** A call made by a test gets ``factor`` times the reference's
  time for that test in the release gate (its longest call into the submission there: the
  gate grades the reference as a student would submit it), at least ``floor_s`` and at most the
  assignment's ``call_time_s``. A test the release has no time for gets ``call_time_s``.
* **A hang is paid once.** After a call of one method timed out, later calls of that same method
  in the run get at most ``factor`` times the longest call of it that returned in this run (at
  least ``repeat_floor_s``; a method that never returned gets ``repeat_floor_s``): a call that
  returns as the method's other calls did still returns (a tape that hangs only on a layer used
  twice keeps its other tests), and one that hangs again fails fast, with a message naming the
  first timeout. The method is what the judge called, as its handle knows it (``Dense.forward``,
  ``Softmax.__call__``, ``GradientTape.gradient``): never read from a message.

The first call a fresh student process serves (the import of the submission, after the process
started) always gets ``call_time_s``: its time is the interpreter's and the package's start-up,
which the reference's per-test times do not hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


def derived_deadline(reference_s: float | None, *, ceiling_s: float, factor: float, floor_s: float) -> float:
    """One test's per-call deadline: ``factor`` x the reference's time, within ``[floor_s, ceiling_s]``.

    Args:
        reference_s: the test's time on the reference (None: not recorded).
        ceiling_s: the assignment's ``call_time_s``; the answer never exceeds it.
        factor: multiple of the reference's time.
        floor_s: the least deadline a call gets (unless ``ceiling_s`` is smaller).

    Returns:
        Seconds; ``ceiling_s`` where ``reference_s`` is None.
    """
    if reference_s is None:
        return ceiling_s
    return min(ceiling_s, max(floor_s, factor * reference_s))


@dataclass(frozen=True)
class DeadlineRule:
    """What the judge derives deadlines from (``judge/deadlines.json``, written by the worker).

    Attributes:
        factor: ``call_time_factor``.
        floor_s: ``call_time_floor_s``: the least a test's calls get.
        repeat_floor_s: ``call_time_repeat_floor_s``: the least a method that hung before gets.
        reference_s: test id -> the reference's time for the test in the release gate (its longest call).
    """

    factor: float
    floor_s: float
    repeat_floor_s: float
    reference_s: dict[str, float] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps({"factor": self.factor, "floor_s": self.floor_s,
                                          "repeat_floor_s": self.repeat_floor_s,
                                          "reference_s": self.reference_s}))

    @classmethod
    def read(cls, path: Path) -> DeadlineRule:
        data = json.loads(Path(path).read_text())
        return cls(float(data["factor"]), float(data["floor_s"]), float(data["repeat_floor_s"]),
                   {str(k): float(v) for k, v in data.get("reference_s", {}).items()})


@dataclass(frozen=True)
class Deadline:
    """The deadline of one call, and why it is what it is.

    Attributes:
        seconds: the deadline.
        earlier: where it was cut short because the same method timed out earlier in the run: that
            timeout, in words ("Softmax.forward did not finish within 2 s earlier in this run"); else "".
    """

    seconds: float
    earlier: str = ""


@dataclass
class _Timeout:
    seconds: float
    test: str


class CallDeadlines:
    """The deadlines of one run's calls into student code (see the module docstring).

    Args:
        ceiling_s: ``call_time_s``: no call gets more.
        rule: how each test's deadline is derived (None: every call gets ``ceiling_s``, and no cut after
            a hang).
    """

    def __init__(self, ceiling_s: float, rule: DeadlineRule | None = None) -> None:
        self.ceiling_s, self.rule = ceiling_s, rule
        self.test: str | None = None
        self._timeouts: dict[str, _Timeout] = {}
        self._longest: dict[str, float] = {}  # method -> its longest call that returned, in this run
        self.longest_call = 0.0  # the running test's longest call that returned (the gate records it)

    def begin_test(self, test_id: str | None) -> None:
        """Calls from here on are made by ``test_id`` (None: outside any test)."""
        self.test = test_id
        self.longest_call = 0.0

    def own(self) -> float:
        """The running test's per-call deadline."""
        rule = self.rule
        if rule is None or self.test is None:
            return self.ceiling_s
        return derived_deadline(rule.reference_s.get(self.test), ceiling_s=self.ceiling_s, factor=rule.factor,
                                floor_s=rule.floor_s)

    def for_call(self, method: str | None) -> Deadline:
        """The deadline of a call of ``method`` (None: a call with no method to name) made now."""
        own, rule = self.own(), self.rule
        first = self._timeouts.get(method) if method else None
        if first is None or rule is None:
            return Deadline(own)
        # The method's own time on this machine, in this run, is the best measure of what a call that
        # returns needs; a method that never returned gets the repeat floor.
        repeat = min(own, max(rule.repeat_floor_s, rule.factor * self._longest.get(method, 0.0)))
        if repeat >= own:
            return Deadline(own)
        where = f" (in {first.test})" if first.test and first.test != self.test else ""
        return Deadline(repeat, f"{method} did not finish within {first.seconds:g} s earlier in this "
                                f"run{where}, so its later calls get {repeat:.3g} s")

    def returned(self, method: str | None, seconds: float) -> None:
        """A call of ``method`` returned (a value or the student's exception) after ``seconds``."""
        self.longest_call = max(self.longest_call, seconds)
        if method and seconds > self._longest.get(method, 0.0):
            self._longest[method] = seconds

    def timed_out(self, method: str | None, seconds: float) -> None:
        """A call of ``method`` did not finish within ``seconds``; the first such timeout is kept."""
        if method and method not in self._timeouts:
            self._timeouts[method] = _Timeout(seconds, self.test or "")
