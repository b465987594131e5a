"""The StudentServer: every request gets a reply, whatever the request or the student code does."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from grader.harness import codec
from grader.harness.handles import FetchError, HarnessError, StudentError, fetch
from grader.harness.inprocess import InProcessTransport
from grader.harness.server import ROOT_REF, StudentServer
from tests.harness.conftest import write_package


@pytest.fixture
def transport(fake_root: Path) -> InProcessTransport:
    return InProcessTransport(fake_root)


def ask(transport: InProcessTransport, header: dict, blobs: list[bytes] = ()) -> dict:
    """Send one raw request; return the reply header."""
    reply, _ = codec.unpack(transport.exchange(codec.pack(header, list(blobs))))
    return reply


def getattr_ref(transport, ref: int, name: str) -> int:
    reply = ask(transport, {"op": "getattr", "ref": ref, "args": {"name": name}})
    assert "ref" in reply, reply
    return reply["ref"]


def protocol_error(reply: dict) -> dict:
    assert reply.get("error", {}).get("kind") == "protocol", reply
    return reply["error"]


def test_a_plain_request_gets_a_reference_and_a_type(transport):
    reply = ask(transport, {"op": "getattr", "ref": ROOT_REF, "args": {"name": "beras"}})
    assert isinstance(reply["ref"], int) and reply["ref"] != ROOT_REF
    assert reply["type"] == "module"


@pytest.mark.parametrize("op", ["frobnicate", None, 3, "_keep", "student_traceback"])
def test_unknown_operation(transport, op):
    error = protocol_error(ask(transport, {"op": op, "ref": ROOT_REF, "args": {}}))
    assert "unknown operation" in error["message"]


@pytest.mark.parametrize("ref", [999, -1, "0", None, 1.0, [0]])
def test_unknown_reference(transport, ref):
    error = protocol_error(ask(transport, {"op": "getattr", "ref": ref, "args": {"name": "beras"}}))
    assert error["type"] == "LookupError" and "no live object" in error["message"]


def test_released_references_are_dead_and_the_root_survives_release(transport):
    beras_ref = getattr_ref(transport, ROOT_REF, "beras")
    core_ref = getattr_ref(transport, beras_ref, "core")
    release = {"op": "release", "ref": ROOT_REF, "refs": [core_ref, ROOT_REF, 12345]}
    assert ask(transport, release) == {"ok": True}
    error = protocol_error(ask(transport, {"op": "getattr", "ref": core_ref, "args": {"name": "add"}}))
    assert "no live object" in error["message"]
    # a dead reference as an argument is refused too
    add_ref = getattr_ref(transport, getattr_ref(transport, beras_ref, "core"), "add")
    error = protocol_error(ask(transport, {"op": "call", "ref": add_ref,
                                           "args": {"args": [{"$ref": core_ref}], "kwargs": {}}}))
    assert error["type"] == "LookupError"
    # the root and the other objects are still there
    assert getattr_ref(transport, ROOT_REF, "beras")
    assert getattr_ref(transport, beras_ref, "NAME")


@pytest.mark.parametrize("refs", [5, "1", [[1]], [None], {"a": 1}])
def test_malformed_release_is_a_protocol_error(transport, refs):
    error = protocol_error(ask(transport, {"op": "release", "ref": ROOT_REF, "refs": refs}))
    assert "release" in error["message"]


def raw(text: bytes) -> bytes:
    return struct.pack("!II", len(text), 0) + text


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"garbage that is not a message",
        raw(b"[1]"),
        raw(b"{bad json"),
        raw(b'{"op": "getattr", "ref":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        raw(b'{"op": "getattr", "ref": ' + b"1" * 5000 + b"}"),
        codec.pack({"op": "getattr", "ref": 0, "args": {"name": "beras"}}, []) + b"extra",
        codec.pack({"op": "getattr", "ref": 0, "args": {"name": {"$array": 4}}}, []),
        codec.pack({"op": "getattr", "ref": 0, "args": {"name": {"$complex": ["a", 1]}}}, []),
        codec.pack({"op": "getattr", "ref": 0, "args": {"name": {"$array": 0}}}, [b"\x93NUMPY junk"]),
    ],
    ids=["empty", "one-byte", "garbage", "list-header", "bad-json", "deep-json", "huge-int", "trailing",
         "bad-array-index", "bad-complex", "bad-npy"],
)
def test_protocol_errors_never_raise_out_of_handle_bytes(data):
    server = StudentServer(lambda name: pytest.fail("nothing may be imported"), {"beras"},
                           Path("/nonexistent"))
    reply, blobs = codec.unpack(server.handle_bytes(data))
    assert protocol_error(reply)["message"]
    assert blobs == []
    # and the server keeps serving
    reply, _ = codec.unpack(server.handle_bytes(codec.pack({"op": "len", "ref": 0, "args": {}}, [])))
    assert reply["error"]["kind"] == "student"  # len() of the root object: a TypeError, reported


def test_protocol_errors_reach_the_test_as_harness_errors(session):
    with pytest.raises(HarnessError, match="protocol error.*unknown operation"):
        session.request("frobnicate", ROOT_REF, "student.frobnicate")
    with pytest.raises(HarnessError, match="no live object"):
        session.request("getattr", 424242, "student.ghost", name="x")


# ---------------------------------------------------------------------------- student failures


def test_stop_iteration_ends_iteration(core):
    assert [fetch(item) for item in core.countdown(3)] == [3, 2, 1]
    assert [fetch(item) for item in core.Bag([])] == []
    assert [fetch(item) for item in core.Bag(["a", "b"])] == ["a", "b"]


def test_stop_iteration_outside_iteration_is_a_student_error(core):
    with pytest.raises(StudentError) as caught:
        core.stop()
    assert caught.value.type_name == "StopIteration"
    assert caught.value.message == "ran dry"
    assert caught.value.call == "student.beras.core.stop()"


def test_system_exit_is_a_student_error_and_the_server_keeps_serving(core):
    with pytest.raises(StudentError) as caught:
        core.exit_now()
    assert caught.value.type_name == "SystemExit"
    assert caught.value.message == "3"
    assert fetch(core.add(2, 3)) == 5


def test_an_exception_whose_str_raises_is_reported_safely(core):
    with pytest.raises(StudentError) as caught:
        core.bad_str()
    assert caught.value.type_name == "BadStr"
    assert "could not be printed" in caught.value.message
    assert fetch(core.add(1, 1)) == 2


def test_traceback_holds_only_submission_relative_frames(core, fake_root):
    with pytest.raises(StudentError) as caught:
        core.boom("kaboom")
    student_traceback = caught.value.student_traceback
    assert 'File "beras/core.py"' in student_traceback
    assert "in boom" in student_traceback
    assert 'raise ValueError(message)' in student_traceback
    assert str(fake_root) not in student_traceback
    assert "grader" not in student_traceback and "server.py" not in student_traceback
    assert str(caught.value).startswith("student.beras.core.boom('kaboom') raised ValueError: kaboom\n")


def test_traceback_drops_frames_of_a_sibling_folder_sharing_the_prefix(core, fake_root):
    sibling = write_package(fake_root.parent / (fake_root.name + "_sibling"), {
        "helper.py": """
            def fail():
                raise RuntimeError("from the sibling")
        """,
    })
    with pytest.raises(StudentError) as caught:
        core.sibling_fail(str(sibling / "helper.py"))
    assert caught.value.message == "from the sibling"
    assert 'File "beras/core.py"' in caught.value.student_traceback
    assert "helper.py" not in caught.value.student_traceback
    assert "sibling" not in caught.value.student_traceback.replace("sibling_fail", "")


def test_values_that_cannot_cross_are_fetch_errors_and_the_server_keeps_serving(core):
    with pytest.raises(FetchError, match=r"cannot fetch student.beras.core.huge_int\(\): .*too large"):
        fetch(core.huge_int())
    with pytest.raises(FetchError, match=r"string_array\(\).*numeric dtype"):
        fetch(core.string_array())
    with pytest.raises(FetchError, match=r"plain_list_with_opaque\(\): value\[1\]: a Opaque object"):
        fetch(core.plain_list_with_opaque())
    assert fetch(core.add(np.arange(3), 1)).tolist() == [1, 2, 3]
