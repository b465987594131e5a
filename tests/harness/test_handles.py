"""Handles and fetch: what a test can do with a student object, and what it cannot."""

from __future__ import annotations

import gc
import operator

import numpy as np
import pytest

from grader.harness import codec, handles
from grader.harness.handles import FetchError, Handle, StudentError, Transport, describe, fetch
from grader.harness.inprocess import connect


class CountingTransport(Transport):
    """Wraps a transport and counts the requests that reach the student side."""

    def __init__(self, inner):
        self.inner, self.ops = inner, []

    @property
    def generation(self) -> int:
        return self.inner.generation

    def exchange(self, request: bytes, timeout_s: float | None = None) -> bytes:
        header, _ = codec.unpack(request)
        self.ops.append(header["op"])
        return self.inner.exchange(request)


@pytest.fixture
def counting(session):
    counter = CountingTransport(session.transport)
    session.transport = counter
    return counter


# ---------------------------------------------------------------------------- calls


def test_calls_with_args_kwargs_and_defaults(core):
    assert fetch(core.add(1, 2)) == 3
    assert fetch(core.add(1)) == 1
    assert fetch(core.add(1, b=5)) == 6
    assert fetch(core.add(a="x", b="y")) == "xy"
    np.testing.assert_array_equal(fetch(core.add(np.arange(3), b=np.ones(3))), [1.0, 2.0, 3.0])


def test_arguments_arrive_as_the_right_types(core):
    value = fetch(core.describe_args(1, 2.5, "s", None, (1,), [1], {"k": 1}, np.zeros(2), slice(1), x=1, y=2))
    assert value == {"args": ["int", "float", "str", "NoneType", "tuple", "list", "dict", "ndarray", "slice"],
                     "kwargs": ["x", "y"]}


def test_handles_as_arguments_stay_remote(core):
    box = core.Box(core.Bag([1, 2]))
    assert fetch(core.describe_args(box, [box], {"b": box}, k=box)) == {
        "args": ["Box", "list", "dict"], "kwargs": ["k"]}
    assert fetch(len(core.unbox(box))) == 2
    assert fetch(core.add(core.add(1, 2), core.add(3, 4))) == 10


def test_a_handle_from_another_session_cannot_be_passed(core, fake_root):
    other = connect(fake_root).root().beras.core.Box(1)
    with pytest.raises(codec.CodecError, match="another student session"):
        core.unbox(other)


def test_arrays_passed_in_are_copies(core):
    x = np.ones(3)
    total = core.mutate(x)
    assert fetch(total) == -3.0
    np.testing.assert_array_equal(x, np.ones(3))


def test_fetched_arrays_are_snapshots(core):
    box = core.Box(np.zeros(2))
    before = fetch(box.value)
    box.value[0] = 5.0
    np.testing.assert_array_equal(before, [0.0, 0.0])
    np.testing.assert_array_equal(fetch(box.value), [5.0, 0.0])
    before[1] = 9.0
    np.testing.assert_array_equal(fetch(box.value), [5.0, 0.0])


def test_module_state_persists_between_requests(core):
    first = fetch(core.count())
    assert fetch(core.count()) == first + 1


# ---------------------------------------------------------------------------- student errors


def test_student_error_names_the_call_as_written(student):
    with pytest.raises(StudentError) as caught:
        student.beras.Layer(3, 2)(np.zeros((4, 5)))
    error = caught.value
    assert error.call == "student.beras.Layer(3, 2)(float64[4, 5])"
    assert error.type_name == "ValueError"
    assert error.message == "Layer expects 3 features; received shape (4, 5)"
    assert str(error).startswith(
        "student.beras.Layer(3, 2)(float64[4, 5]) raised ValueError: Layer expects 3 features")
    assert 'File "beras/core.py"' in error.student_traceback


def test_student_error_for_a_missing_attribute(core):
    with pytest.raises(StudentError) as caught:
        core.no_such_function
    assert caught.value.type_name == "AttributeError"
    assert caught.value.call == "student.beras.core.no_such_function"


def test_student_error_describes_kwargs_and_arrays(core):
    with pytest.raises(StudentError) as caught:
        core.check_shape(x=np.zeros((2, 3), dtype=np.float32))
    assert caught.value.call == "student.beras.core.check_shape(x=float32[2, 3])"


def test_not_a_module_lists_the_available_modules(student):
    with pytest.raises(StudentError) as caught:
        student.not_a_module
    assert caught.value.call == "student.not_a_module"
    assert "'not_a_module'" in caught.value.message
    assert "['beras']" in caught.value.message


# ---------------------------------------------------------------------------- with, iteration, len, items


def test_with_forwards_enter_and_exit(core):
    recorder = core.Recorder()
    with recorder as entered:
        assert fetch(entered.events) == ["enter"]
    assert fetch(recorder.events) == ["enter", "exit"]


def test_the_tests_own_exception_propagates_even_if_exit_swallows(core):
    recorder = core.Recorder()
    with pytest.raises(KeyError, match="mine"):
        with recorder:
            raise KeyError("mine")
    events = fetch(recorder.events)
    assert events[0] == "enter" and events[1].startswith("exit:KeyError")
    assert "mine" in events[1]


def test_an_assertion_inside_with_is_not_swallowed(core):
    with pytest.raises(AssertionError):
        with core.Recorder():
            raise AssertionError("the test failed")


def test_iteration_yields_handles_named_by_index(core):
    items = list(core.Bag([10, np.arange(2), "x"]))
    assert all(isinstance(item, Handle) for item in items)
    assert [repr(item) for item in items] == [
        "<student int: student.beras.core.Bag([10, int64[2], 'x'])[0]>",
        "<student numpy.ndarray: student.beras.core.Bag([10, int64[2], 'x'])[1]>",
        "<student str: student.beras.core.Bag([10, int64[2], 'x'])[2]>",
    ]
    assert fetch(items[0]) == 10 and fetch(items[2]) == "x"


def test_len_is_forwarded(core):
    assert len(core.Bag([1, 2, 3])) == 3
    assert len(core.Bag([])) == 0
    with pytest.raises(StudentError, match=r"len\(student.beras.core.Box\(1\)\) raised TypeError"):
        len(core.Box(1))


def test_indexing_and_setitem_are_forwarded(core):
    bag = core.Bag([1, 2, 3])
    assert fetch(bag[0]) == 1
    assert fetch(bag[-1]) == 3
    assert fetch(bag[1:]) == [2, 3]
    bag[0] = 99
    bag[1] = np.arange(2)
    assert fetch(bag[0]) == 99
    np.testing.assert_array_equal(fetch(bag[1]), [0, 1])
    with pytest.raises(StudentError, match=r"student.beras.core.Bag\(\[1, 2, 3\]\)\[7\] raised IndexError"):
        bag[7]


def test_setattr_is_forwarded(core):
    box = core.Box(1)
    box.value = 5
    assert fetch(box.value) == 5
    box.value = np.eye(2)
    np.testing.assert_array_equal(fetch(box.value), np.eye(2))
    box.value = core.Box(7)
    assert fetch(box.value.value) == 7
    box.extra = {"a": [1, 2]}
    assert fetch(core.unbox(box).value) == 7
    assert fetch(box.extra) == {"a": [1, 2]}


# ---------------------------------------------------------------------------- refusing to be trusted


@pytest.mark.parametrize(
    "use",
    [
        lambda h: h == 1, lambda h: 1 == h, lambda h: h != 1, lambda h: h < 1, lambda h: h <= 1,
        lambda h: h > 1, lambda h: h >= 1, bool, float, int, complex, operator.index,
        lambda h: not h, lambda h: 1 if h else 0, lambda h: [0, 1, 2][h],
        np.asarray, np.array, lambda h: np.float64(h), lambda h: np.isclose(h, 1), lambda h: h == h,
    ],
    ids=["eq", "req", "ne", "lt", "le", "gt", "ge", "bool", "float", "int", "complex", "index",
         "not", "if", "as-index", "asarray", "array", "np-float", "isclose", "self-eq"],
)
def test_handles_refuse_comparisons_and_conversions(core, use):
    liar = core.Liar()
    with pytest.raises(TypeError, match="fetch()"):
        use(liar)


def test_assert_on_a_handle_raises(core):
    with pytest.raises(TypeError, match=r"student.beras.core.Liar\(\) is a handle to a student object"):
        assert core.Liar()


def test_handles_are_hashable(core):
    liar = core.Liar()
    assert {liar: 1}[liar] == 1


def test_fetch_is_not_fooled_by_a_liar(core):
    with pytest.raises(FetchError, match=r"cannot fetch student.beras.core.Liar\(\): .*Liar object cannot"):
        fetch(core.Liar())


def test_fetch_of_a_non_plain_object_names_the_call(core):
    with pytest.raises(FetchError) as caught:
        fetch(core.make_opaque())
    assert "student.beras.core.make_opaque()" in str(caught.value)
    assert "Opaque" in str(caught.value)
    with pytest.raises(FetchError, match=r"cannot fetch student.beras.core: .*module object cannot cross"):
        fetch(core)


def test_dunder_probes_are_not_forwarded(core, counting):
    liar = core.Liar()
    counting.ops.clear()
    assert not hasattr(liar, "__array_interface__")
    assert not hasattr(liar, "__array_struct__")
    assert not hasattr(liar, "__fspath__")
    assert counting.ops == []


# ---------------------------------------------------------------------------- fetch


def test_fetch_containers_of_handles(core):
    one, two = core.add(0, 1), core.Box(2).value
    assert fetch([one, 5, two]) == [1, 5, 2]
    assert fetch((one,)) == (1,)
    assert fetch({"a": one, "b": "plain"}) == {"a": 1, "b": "plain"}
    assert fetch([one, [two, (one,)]]) == [1, [2, (1,)]]
    assert fetch([0, [one]]) == [0, [1]]
    assert fetch({"k": [one, {"j": two}]}) == {"k": [1, {"j": 2}]}


def test_fetch_of_a_student_array_subclass_gives_a_plain_array(core):
    value = fetch(core.subclass_array())
    assert type(value) is np.ndarray
    np.testing.assert_array_equal(value, np.arange(6.0).reshape(2, 3))


class LocalTensor(np.ndarray):
    pass


def test_fetch_of_local_values_normalizes():
    local = np.arange(4.0).view(LocalTensor)
    value = fetch(local)
    assert type(value) is np.ndarray and value is not local
    np.testing.assert_array_equal(value, [0.0, 1.0, 2.0, 3.0])
    fetched = fetch([local, np.float32(2.5), (np.int64(3),)])
    assert type(fetched[0]) is np.ndarray and fetched[1:] == [2.5, (3,)]
    assert type(fetched[1]) is float and type(fetched[2][0]) is int
    assert fetch({"x": 1.5, "y": None}) == {"x": 1.5, "y": None}
    assert fetch(np.array(2.0)).shape == ()


def test_fetch_of_a_local_non_plain_value_is_a_fetch_error():
    with pytest.raises(FetchError, match="cannot fetch a local object"):
        fetch(object())
    with pytest.raises(FetchError, match="cannot fetch a local list"):
        fetch([1, object()])


def test_fetch_listeners_are_called_once_per_fetch(core, monkeypatch):
    calls = []
    monkeypatch.setattr(handles, "fetch_listeners", [lambda description, payload: calls.append(
        (description, payload))])
    total = core.add(2, 3)
    bag = core.Bag([1, 2])
    len(bag)
    list(bag)
    assert calls == []  # calls, len and iteration are not fetches
    assert fetch(total) == 5
    assert len(calls) == 1
    description, payload = calls[0]
    assert description == "student.beras.core.add(2, 3)"
    assert isinstance(payload, codec.Payload) and payload.tree == 5
    fetch([total, bag[0]])
    assert [description for description, _ in calls[1:]] == [
        "student.beras.core.add(2, 3)", "student.beras.core.Bag([1, 2])[0]"]


def test_payload_digest_is_stable_and_distinguishes_values():
    one = codec.encode({"a": np.arange(3.0)})
    assert handles.payload_digest(one) == handles.payload_digest(codec.encode({"a": np.arange(3.0)}))
    assert handles.payload_digest(one) != handles.payload_digest(codec.encode({"a": np.arange(3.0) + 1}))


# ---------------------------------------------------------------------------- repr, describe, release


def test_repr_names_the_type_and_the_call(student, core):
    assert repr(student) == "<student student: student>"
    assert repr(student.beras) == "<student module: student.beras>"
    assert repr(core.Box(1)) == "<student Box: student.beras.core.Box(1)>"
    assert repr(core.subclass_array()) == "<student Sub: student.beras.core.subclass_array()>"
    assert repr(core.add(np.zeros((2, 3)), 1)) == (
        "<student numpy.ndarray: student.beras.core.add(float64[2, 3], 1)>")


def test_long_descriptions_are_shortened(core):
    handle = core.add(1, 2)
    for _ in range(10):
        handle = core.identity(handle)
    assert fetch(handle) == 3
    description = object.__getattribute__(handle, "_description")
    assert len(description) <= handles.MAX_DESCRIPTION and description.startswith("...")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.zeros((4, 3)), "float64[4, 3]"),
        (np.array(1, dtype=np.int8), "int8[]"),
        ([1, 2], "[1, 2]"),
        ((1,), "(1,)"),
        ((1, 2, 3, 4, 5), "(1, 2, 3, 4, ...)"),
        ("x" * 100, repr("x" * 100)[:37] + "..."),
        (slice(1, 2), "slice(1, 2, None)"),
    ],
)
def test_describe(value, text):
    assert describe(value) == text


def test_dropped_handles_are_released_on_the_next_request(session, core):
    table = session.transport.server._objects
    boxes = [core.Box(i) for i in range(20)]
    size = len(table)
    del boxes
    gc.collect()
    fetch(core.add(1, 1))
    assert len(table) <= size - 20 + 2  # the boxes are gone; only the new call's handles remain
