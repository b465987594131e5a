"""Per-call deadlines: the derived deadline, the short one after a hang, and how handles name methods.

The rule is plain arithmetic (``CallDeadlines`` never looks at a clock), so most of this file runs
no process. The last tests start a real student process and check outcomes and messages only:
the deadlines there are seconds long and nothing asserts how long a call took.
"""

from __future__ import annotations

import os

import pytest

from grader.harness.deadlines import CallDeadlines, Deadline, DeadlineRule, derived_deadline
from grader.harness.handles import Session, StudentProcessFailed, fetch
from grader.harness.inprocess import connect
from grader.harness.process import DirectSpawner, ProcessTransport
from tests.harness.conftest import write_package

RULE = DeadlineRule(factor=50, floor_s=2.0, repeat_floor_s=0.5,
                    reference_s={"t::unit": 0.002, "t::heavy": 0.3, "t::huge": 100.0})


# -- the derived deadline ------------------------------------------------------------------------------------
@pytest.mark.parametrize("reference_s,expected", [
    (None, 60.0),  # no time recorded: the assignment's call_time_s
    (0.002, 2.0),  # milliseconds: the floor
    (0.3, 15.0),  # factor x the reference
    (100.0, 60.0),  # never past call_time_s
])
def test_derived_deadline(reference_s, expected):
    assert derived_deadline(reference_s, ceiling_s=60.0, factor=50, floor_s=2.0) == pytest.approx(expected)


def test_a_ceiling_below_the_floor_wins():
    assert derived_deadline(0.001, ceiling_s=1.0, factor=50, floor_s=2.0) == 1.0


def test_each_test_gets_its_own_deadline():
    deadlines = CallDeadlines(60.0, RULE)
    seen = {}
    for test in ("t::unit", "t::heavy", "t::huge", "t::not-recorded"):
        deadlines.begin_test(test)
        seen[test] = deadlines.for_call("Softmax.__call__").seconds
    deadlines.begin_test(None)
    assert seen == {"t::unit": 2.0, "t::heavy": pytest.approx(15.0), "t::huge": 60.0, "t::not-recorded": 60.0}
    assert deadlines.for_call("Softmax.__call__").seconds == 60.0  # outside a test: the ceiling


def test_without_a_rule_every_call_gets_the_ceiling():
    deadlines = CallDeadlines(30.0)
    deadlines.begin_test("t::unit")
    deadlines.timed_out("Softmax.forward", 30.0)
    assert deadlines.for_call("Softmax.forward").seconds == 30.0


# -- after a timeout -----------------------------------------------------------------------------------------
def test_a_method_that_hung_and_never_returned_gets_the_repeat_floor():
    deadlines = CallDeadlines(60.0, RULE)
    deadlines.begin_test("t::heavy")
    assert deadlines.for_call("SequentialModel.fit").seconds == pytest.approx(15.0)
    deadlines.timed_out("SequentialModel.fit", 15.0)

    for test in ("t::unit", "t::heavy", "t::huge", "t::not-recorded"):
        deadlines.begin_test(test)
        later = deadlines.for_call("SequentialModel.fit")
        assert later.seconds == 0.5, test
        where = " (in t::heavy)" if test != "t::heavy" else ""
        assert later.earlier == ("SequentialModel.fit did not finish within 15 s earlier in this "
                                 f"run{where}, so its later calls get 0.5 s")
    # Other methods keep the test's own deadline.
    assert deadlines.for_call("Dense.forward") == Deadline(60.0)
    assert deadlines.for_call("SequentialModel.fit (attribute)") == Deadline(60.0)


def test_a_method_that_returned_before_gets_factor_times_its_longest_call():
    deadlines = CallDeadlines(60.0, RULE)
    deadlines.begin_test("t::heavy")
    deadlines.returned("GradientTape.gradient", 0.004)
    deadlines.returned("GradientTape.gradient", 0.1)
    deadlines.returned("GradientTape.gradient", 0.02)
    deadlines.timed_out("GradientTape.gradient", 15.0)
    assert deadlines.for_call("GradientTape.gradient").seconds == pytest.approx(5.0)  # 50 x 0.1 s
    deadlines.begin_test("t::unit")
    assert deadlines.for_call("GradientTape.gradient").seconds == 2.0  # never more than the test's own
    deadlines.returned("Dense.forward", 0.001)
    deadlines.timed_out("Dense.forward", 2.0)
    assert deadlines.for_call("Dense.forward").seconds == 0.5  # 50 x 1 ms is below the repeat floor


def test_the_first_timeout_is_the_one_named():
    deadlines = CallDeadlines(60.0, RULE)
    deadlines.begin_test("t::huge")
    deadlines.timed_out("Softmax.__call__", 60.0)
    deadlines.begin_test("t::unit")
    deadlines.timed_out("Softmax.__call__", 0.5)
    assert "within 60 s earlier in this run (in t::huge)" in deadlines.for_call("Softmax.__call__").earlier


def test_no_cut_where_the_short_deadline_is_no_shorter():
    deadlines = CallDeadlines(0.4, RULE)  # a ceiling below even the repeat floor
    deadlines.begin_test("t::unit")
    deadlines.timed_out("Softmax.__call__", 0.4)
    assert deadlines.for_call("Softmax.__call__") == deadlines.for_call("anything")


def test_a_call_without_a_method_is_never_cut():
    deadlines = CallDeadlines(60.0, RULE)
    deadlines.begin_test("t::unit")
    deadlines.timed_out(None, 2.0)
    assert deadlines.for_call(None).seconds == 2.0


def test_the_rule_file_round_trips(tmp_path):
    RULE.write(tmp_path / "deadlines.json")
    assert DeadlineRule.read(tmp_path / "deadlines.json") == RULE


# -- how handles name what they call -------------------------------------------------------------------------
NAMED = '''
    class Layer:
        def __init__(self, n):
            self.n = n

        def __call__(self, x):
            return self.forward(x)

        def forward(self, x):
            return x * self.n

        @property
        def size(self):
            return self.n


    def make(n):
        return [Layer(n)]
'''


class Recording(CallDeadlines):
    def __init__(self) -> None:
        super().__init__(30.0)
        self.methods: list[str | None] = []

    def for_call(self, method):
        self.methods.append(method)
        return super().for_call(method)


def test_handles_name_the_class_and_method_they_call(tmp_path):
    root = write_package(tmp_path / "sub", {"beras/__init__.py": NAMED})
    session = connect(root)
    session.deadlines = recording = Recording()
    student = session.root()
    layer = student.beras.Layer(3)
    assert fetch(layer(2)) == 6 and fetch(layer.forward(2)) == 6 and fetch(layer.size) == 3
    first = student.beras.make(2)[0]
    first.n = 5
    assert recording.methods == [
        "student.beras (attribute)", "student.beras.Layer (attribute)", "student.beras.Layer",
        "Layer.__call__", "int.__fetch__",
        "Layer.forward (attribute)", "Layer.forward", "int.__fetch__",
        "Layer.size (attribute)", "int.__fetch__",
        "student.beras (attribute)", "student.beras.make (attribute)", "student.beras.make",
        "list.__getitem__",
        "Layer.n (set)",
    ]


# -- in a real student process -------------------------------------------------------------------------------
HANGS = '''
    import time


    class Tape:
        def gradient(self, n):
            """Returns at once, except on a "layer used twice" (n == 2), where it never returns."""
            while n == 2:
                time.sleep(0.01)
            return n + 1
'''


@pytest.mark.skipif(os.name != "posix", reason="the student process needs POSIX pipes and signals")
def test_a_method_that_hung_fails_fast_later_and_still_returns_where_it_can(tmp_path):
    root = write_package(tmp_path / "sub", {"beras/__init__.py": HANGS})
    # factor 1: the repeat deadline is the floor whatever the machine took for the call that returned
    rule = DeadlineRule(factor=1, floor_s=3.0, repeat_floor_s=1.0, reference_s={"t::a": 0.001, "t::b": 0.001})
    deadlines = CallDeadlines(30.0, rule)
    session = Session(ProcessTransport(DirectSpawner(root, tmp_path / "student.log"), 30.0), deadlines)
    try:
        deadlines.begin_test("t::a")
        with pytest.raises(StudentProcessFailed) as first:
            session.root().beras.Tape().gradient(2)  # it never returned: later calls get the repeat floor
        assert first.value.kind == "timeout"
        assert str(first.value) == ("student.beras.Tape().gradient(2) did not finish within 3 s "
                                    "(the per-call time limit)")

        deadlines.begin_test("t::b")
        tape = session.root().beras.Tape()  # a fresh process: its first call (the import) gets the ceiling
        assert fetch(tape.gradient(1)) == 2  # a call that returns still returns
        with pytest.raises(StudentProcessFailed) as again:
            tape.gradient(2)
        assert again.value.kind == "timeout"
        assert str(again.value) == (
            "student.beras.Tape().gradient(2) did not finish within 1 s (the per-call time limit): "
            "Tape.gradient did not finish within 3 s earlier in this run (in t::a), so its later "
            "calls get 1 s")
    finally:
        session.transport.close()


def test_the_longest_call_of_each_test_is_noted_for_the_gate():
    deadlines = CallDeadlines(30.0)
    deadlines.begin_test("t::a")
    for seconds in (0.01, 0.3, 0.02):
        deadlines.returned("Dense.forward", seconds)
    assert deadlines.longest_call == 0.3
    deadlines.begin_test("t::b")
    assert deadlines.longest_call == 0.0
    deadlines.returned(None, 0.05)
    assert deadlines.longest_call == 0.05
