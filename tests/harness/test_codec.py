"""The codec: what crosses the judge/student boundary, and what is refused (never unpickled)."""

from __future__ import annotations

import io
import json
import math
import pickle
import struct

import numpy as np
import pytest

from grader.harness import codec
from grader.harness.codec import CodecError, Payload, decode, encode, pack, unpack

UNPICKLED: list[str] = []


def _record_unpickling(tag: str) -> str:
    UNPICKLED.append(tag)
    return tag


class Evil:
    """Unpickling an Evil runs ``_record_unpickling``: the tests check it never does."""

    def __reduce__(self):
        return (_record_unpickling, ("evil",))


def roundtrip(value):
    """Encode, frame, unframe and decode ``value``, as a value crossing the boundary is."""
    payload = encode(value)
    json.dumps(payload.tree, allow_nan=False)  # the tree is plain JSON
    header, blobs = unpack(pack({"value": payload.tree}, payload.blobs))
    return decode(Payload(header["value"], blobs))


def same(a, b) -> bool:
    """Equality that also checks types and treats NaN as equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return (a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    return a == b


def npy_blob(array, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "value",
    [
        0, 1, -5, 2**62, -(2**63), 2**100,
        True, False, None,
        0.0, -0.0, 1.5, -2.25e-300, 1e308,
        float("nan"), float("inf"), float("-inf"),
        1 + 2j, complex(0, -1), complex(float("nan"), float("inf")), complex(float("-inf"), 0.5),
        "", "hello", "héllo ☃", "$array", "\ud800",
        [], (), (1,), [1, 2.5, "x", None, True],
        (1, (2, (3, [4]))),
        {}, {"a": 1, "b": [1, (2, 3.5), {"c": None}], "$not_a_tag": ()},
        {"nested": {"deeper": {"deepest": [float("nan"), (float("inf"),)]}}},
        slice(1, 5, 2), slice(None), slice(None, -1), slice(-3, None, -1), [slice(0, 2), (slice(1, None),)],
    ],
    ids=repr,
)
def test_plain_values_round_trip(value):
    assert same(roundtrip(value), value)


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        (np.int8(-3), -3), (np.int64(2**40), 2**40), (np.uint8(255), 255), (np.uint64(2**63), 2**63),
        (np.float16(1.5), 1.5), (np.float32(0.25), 0.25), (np.float64(-7.5), -7.5),
        (np.float64("nan"), float("nan")), (np.float32("-inf"), float("-inf")),
        (np.complex64(1 - 2j), 1 - 2j), (np.complex128(complex(3, float("nan"))), complex(3, float("nan"))),
        (np.bool_(True), True), (np.bool_(False), False),
    ],
    ids=repr,
)
def test_numpy_scalars_become_python_numbers(scalar, expected):
    assert same(roundtrip(scalar), expected)


NUMERIC_DTYPES = [
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128, np.clongdouble,
]


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES, ids=lambda d: np.dtype(d).name)
def test_arrays_of_every_numeric_dtype_round_trip(dtype):
    array = (np.arange(12) % 5).reshape(3, 4).astype(dtype)
    if np.dtype(dtype).kind in "fc":
        array[0, 0] = np.nan
        array[1, 1] = np.inf
    decoded = roundtrip(array)
    assert same(decoded, array)
    assert decoded.dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    "array",
    [
        np.array(3.5),
        np.array(7, dtype=np.int16),
        np.zeros((0, 3)),
        np.zeros((2, 0, 4), dtype=np.complex64),
        np.arange(24.0).reshape(4, 6)[:, ::2],
        np.arange(24).reshape(2, 3, 4).transpose(2, 0, 1),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.arange(10, dtype=">f8"),
        np.arange(100.0)[::-7],
    ],
    ids=["0d-float", "0d-int16", "empty", "empty-3d", "strided", "transposed", "fortran", "big-endian",
         "reversed"],
)
def test_special_layouts_round_trip(array):
    decoded = roundtrip(array)
    assert same(decoded, array)
    assert type(decoded) is np.ndarray


class Tensorish(np.ndarray):
    """A numpy subclass, as Beras' Tensor is."""


def test_numpy_subclass_becomes_plain_ndarray():
    value = np.arange(6.0).reshape(2, 3).view(Tensorish)
    decoded = roundtrip(value)
    assert type(decoded) is np.ndarray
    np.testing.assert_array_equal(decoded, np.arange(6.0).reshape(2, 3))


def test_arrays_in_containers_get_one_blob_each_and_are_snapshots():
    first, second = np.ones(3), np.arange(4, dtype=np.int32)
    payload = encode({"x": [first, (second,)], "y": 2})
    assert len(payload.blobs) == 2
    first[:] = 99  # changing the original after encoding changes nothing
    value = decode(payload)
    np.testing.assert_array_equal(value["x"][0], np.ones(3))
    assert isinstance(value["x"][1], tuple)
    np.testing.assert_array_equal(value["x"][1][0], np.arange(4))
    assert value["y"] == 2


def test_refs_round_trip_only_with_a_resolver():
    remote = object()
    payload = encode([1, remote], ref_of=lambda value: 7 if value is remote else None)
    assert payload.tree == [1, {"$ref": 7}]
    assert decode(payload, resolve=lambda ref: ("resolved", ref)) == [1, ("resolved", 7)]
    with pytest.raises(CodecError, match="reference to a remote object"):
        decode(payload)


@pytest.mark.parametrize("body", [True, "7", 1.5, None, [7]])
def test_malformed_refs_are_refused_even_with_a_resolver(body):
    with pytest.raises(CodecError, match="reference"):
        decode(Payload({"$ref": body}), resolve=lambda ref: ref)


# ---------------------------------------------------------------------------- refusals when encoding


class Thing:
    pass


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (np.array([1, "a"], dtype=object), ["numeric dtype", "object"]),
        (np.array(["a", "bc"]), ["numeric dtype", "<U2"]),
        (np.array([b"a"]), ["numeric dtype", "S1"]),
        (np.zeros(2, dtype=[("a", "i4"), ("b", "f8")]), ["numeric dtype"]),
        (np.zeros(2, dtype="V4"), ["numeric dtype", "V4"]),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), ["numeric dtype", "datetime64"]),
        (np.zeros(1, dtype=[("a", "i4")])[0], ["numpy scalar", "not numeric"]),
        (np.datetime64("2020-01-01"), ["numpy scalar", "not numeric"]),
        (Thing(), ["Thing", "cannot cross"]),
        (object(), ["object", "cannot cross"]),
        ({1, 2}, ["set", "cannot cross"]),
        (b"bytes", ["bytes", "cannot cross"]),
        (len, ["builtin_function_or_method", "cannot cross"]),
        (2**5000, ["too large"]),
    ],
    ids=["object-array", "str-array", "bytes-array", "structured", "void", "datetime", "void-scalar",
         "datetime-scalar", "instance", "object", "set", "bytes", "function", "huge-int"],
)
def test_non_plain_values_are_refused_with_a_clear_message(value, words):
    with pytest.raises(CodecError) as caught:
        encode(value)
    for word in words:
        assert word in str(caught.value)


def test_refusal_says_where_the_value_sat():
    with pytest.raises(CodecError, match=r"value\['a'\]\[1\]: a Thing object cannot cross"):
        encode({"a": [1, Thing()]})


@pytest.mark.parametrize("key", [1, 2.5, None, ("a",)])
def test_non_string_dict_keys_are_refused(key):
    with pytest.raises(CodecError, match="dict keys must be strings"):
        encode({key: 1})


@pytest.mark.parametrize("tag", ["$array", "$tuple", "$slice", "$float", "$complex", "$ref"])
def test_reserved_dict_keys_are_refused(tag):
    with pytest.raises(CodecError, match="reserved"):
        encode({"fine": {tag: 0}})


def test_too_deep_nesting_is_refused_both_ways():
    value: list = []
    for _ in range(codec.MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(CodecError, match="nested deeper"):
        encode(value)
    with pytest.raises(CodecError, match="nested deeper"):
        decode(Payload(json.loads(json.dumps(value))))


def test_self_referencing_list_is_refused_not_a_recursion_error():
    loop: list = []
    loop.append(loop)
    with pytest.raises(CodecError, match="nested deeper"):
        encode(loop)


def test_oversized_arrays_are_refused(monkeypatch):
    monkeypatch.setattr(codec, "MAX_ARRAY_BYTES", 100)
    assert same(roundtrip(np.zeros(12)), np.zeros(12))  # 96 bytes: fine
    with pytest.raises(CodecError, match=r"shape \(13,\)"):
        encode(np.zeros(13))
    with pytest.raises(CodecError, match=r"value\['big'\]"):
        encode({"big": np.zeros((4, 4))})


def test_oversized_arrays_are_refused_when_decoding(monkeypatch):
    payload = encode(np.zeros(1000))
    monkeypatch.setattr(codec, "MAX_ARRAY_BYTES", 100)
    with pytest.raises(CodecError, match="cap"):
        decode(payload)


def test_a_header_declaring_a_huge_array_is_refused_before_allocating():
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)})
    blob = buffer.getvalue() + bytes(16)
    with pytest.raises(CodecError, match="cap"):
        decode(Payload({"$array": 0}, [blob]))


# ---------------------------------------------------------------------------- hostile blobs


def test_pickled_object_array_is_refused_without_unpickling():
    UNPICKLED.clear()
    blob = npy_blob(np.array([Evil(), Evil()], dtype=object), allow_pickle=True)
    assert pickle.loads(pickle.dumps(Evil())) == "evil" and UNPICKLED == ["evil"]  # the trap works...
    UNPICKLED.clear()
    with pytest.raises(CodecError, match="numeric dtype"):
        decode(Payload({"$array": 0}, [blob]))
    assert UNPICKLED == []  # ...and the decoder never sprang it


def test_raw_pickle_is_refused_without_unpickling():
    UNPICKLED.clear()
    with pytest.raises(CodecError, match="malformed array"):
        decode(Payload({"$array": 0}, [pickle.dumps(Evil())]))
    assert UNPICKLED == []


@pytest.mark.parametrize(
    "array",
    [np.array(["text"]), np.zeros(3, dtype=[("a", "<i4")]), np.array(["2020-01-01"], dtype="datetime64[D]")],
    ids=["str", "structured", "datetime"],
)
def test_non_numeric_npy_blobs_are_refused(array):
    with pytest.raises(CodecError, match="numeric dtype"):
        decode(Payload({"$array": 0}, [npy_blob(array)]))


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"not an npy file at all",
        npy_blob(np.arange(10.0))[:-8],  # truncated data
        npy_blob(np.arange(10.0)) + b"\0" * 8,  # trailing data
        npy_blob(np.arange(10.0))[:20],  # truncated header
    ],
    ids=["empty", "garbage", "truncated-data", "trailing-data", "truncated-header"],
)
def test_malformed_npy_blobs_are_refused(blob):
    with pytest.raises(CodecError, match="malformed array"):
        decode(Payload({"$array": 0}, [blob]))


def test_npz_archive_is_refused():
    buffer = io.BytesIO()
    np.savez(buffer, a=np.arange(3))
    with pytest.raises(CodecError):
        decode(Payload({"$array": 0}, [buffer.getvalue()]))


# ---------------------------------------------------------------------------- malformed trees


@pytest.mark.parametrize(
    ("tree", "words"),
    [
        ({"$array": 3}, "array index out of range"),
        ({"$array": "0"}, "array index out of range"),
        ({"$array": True}, "array index out of range"),
        ({"$array": -1}, "array index out of range"),
        ({"$tuple": 3}, "bad \\$tuple body"),
        ({"$slice": [1, 2]}, "bad \\$slice body"),
        ({"$slice": "1:2"}, "bad \\$slice body"),
        ({"$float": "1.5"}, "\\$float"),
        ({"$float": None}, "\\$float"),
        ({"$complex": [1]}, "bad \\$complex body"),
        ({"$complex": ["a", 1]}, "bad \\$complex body"),
        ({"$complex": [[1], 2]}, "bad \\$complex body"),
        ({"$complex": [1, None]}, "bad \\$complex body"),
        ([1, {"$tuple": None}], "bad \\$tuple body"),
        (b"bytes", "unexpected bytes"),
        ({1, 2}, "unexpected set"),
    ],
    ids=repr,
)
def test_malformed_trees_are_refused(tree, words):
    with pytest.raises(CodecError, match=words):
        decode(Payload(tree, []))


def test_unknown_tags_and_multi_key_dicts_are_plain_dicts():
    assert decode(Payload({"$unknown": 1})) == {"$unknown": 1}
    assert decode(Payload({"$array": 0, "other": 1})) == {"$array": 0, "other": 1}


# ---------------------------------------------------------------------------- framing


def test_pack_unpack_round_trip():
    blobs = [b"", b"\x00\x01\x02", bytes(range(256)) * 10]
    header = {"op": "call", "ref": 3, "args": {"x": [1, {"$array": 0}], "s": "ü"}}
    assert unpack(pack(header, blobs)) == (header, blobs)
    assert unpack(pack({}, [])) == ({}, [])


def test_pack_refuses_what_json_cannot_hold():
    with pytest.raises(CodecError, match="cannot frame"):
        pack({"x": float("nan")}, [])
    with pytest.raises(CodecError, match="cannot frame"):
        pack({"x": object()}, [])


def raw_message(text: bytes, blobs: list[bytes] = (), count: int | None = None) -> bytes:
    parts = [struct.pack("!II", len(text), len(blobs) if count is None else count), text]
    for blob in blobs:
        parts += [struct.pack("!Q", len(blob)), blob]
    return b"".join(parts)


GOOD = pack({"op": "getattr", "ref": 0}, [b"abc", b"defg"])


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "malformed message"),
        (b"\x00\x00\x00", "malformed message"),
        (GOOD[:-1], "truncated"),
        (GOOD[:12], "malformed message"),
        (GOOD + b"x", "trailing bytes"),
        (raw_message(b"[1, 2]"), "not an object"),
        (raw_message(b"{not json"), "malformed message"),
        (raw_message(b'{"a": "\xff\xfe"}'), "malformed message"),
        (raw_message(b"{}", count=3), "malformed message"),
        (raw_message(b"{}") + struct.pack("!Q", 2**60), "malformed message"),
        (struct.pack("!II", 100, 0) + b"{}", "malformed message"),
        (raw_message(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"), "malformed message"),
        (raw_message(b'{"a":' + b"1" * 5000 + b"}"), "malformed message"),
    ],
    ids=["empty", "short", "truncated-blob", "truncated-header", "trailing", "list-header", "bad-json",
         "bad-utf8", "missing-blobs", "huge-blob-length", "short-header", "deep-json", "huge-int"],
)
def test_unpack_refuses_malformed_messages(data, words):
    with pytest.raises(CodecError, match=words):
        unpack(data)


def test_unpack_refuses_a_truncated_blob_length_as_truncated():
    data = raw_message(b"{}", count=1) + struct.pack("!Q", 10) + b"short"
    with pytest.raises(CodecError, match="truncated"):
        unpack(data)


def test_unpack_refuses_oversized_messages(monkeypatch):
    monkeypatch.setattr(codec, "MAX_MESSAGE_BYTES", 64)
    assert unpack(pack({"a": 1}, [b"x" * 10])) == ({"a": 1}, [b"x" * 10])
    with pytest.raises(CodecError, match="over the"):
        unpack(pack({"a": 1}, [b"x" * 100]))


def test_unpack_refuses_an_oversized_header(monkeypatch):
    monkeypatch.setattr(codec, "MAX_TREE_CHARS", 16)
    assert unpack(pack({"a": 1}, [])) == ({"a": 1}, [])
    with pytest.raises(CodecError, match="over the cap"):
        unpack(pack({"a": "x" * 100}, []))


def test_describe_type():
    assert codec.describe_type(np.zeros(2)) == "numpy.ndarray"
    assert codec.describe_type(np.float32(1)) == "numpy.float32"
    assert codec.describe_type(Thing()) == "Thing"
    assert codec.describe_type(Tensorish((2,))) == "Tensorish"
