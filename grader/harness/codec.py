"""Plain data across the judge/student boundary: numeric arrays as ``.npy`` bytes, the rest as JSON.

This is the only way a value crosses between the two sides, in both directions. The
decoder is the security boundary: it never unpickles (it reads the ``.npy`` header with
numpy's literal parser, accepts numeric dtypes only and takes the data as raw bytes of that
dtype; ``np.load`` is never called), and caps sizes, so a student value can never run code
in the judge or exhaust its memory.

A message is a JSON *tree* plus a list of binary *blobs*. Inside the tree, values JSON
cannot hold are tagged one-key objects: ``{"$array": i}`` (blob ``i``), ``{"$tuple": [...]}``,
``{"$slice": [start, stop, step]}``, ``{"$float": "nan"}``, ``{"$complex": [re, im]}`` and
``{"$ref": id}`` (a handle to an object that stays on the student side).
"""

from __future__ import annotations

import io
import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex: never object, string or void
MAX_ARRAY_BYTES = 256 * 2**20
MAX_MESSAGE_BYTES = 512 * 2**20
MAX_TREE_CHARS = 16 * 2**20
MAX_DEPTH = 32
MAX_INT_BITS = 4096  # well under Python's limit on int <-> str conversion (4300 digits)
_TAGS = ("$array", "$tuple", "$slice", "$float", "$complex", "$ref")
_LENGTH = struct.Struct("!II")  # header length, blob count


class CodecError(ValueError):
    """A value cannot cross the boundary; the message says what it was and what may cross."""


@dataclass
class Payload:
    """An encoded value: a JSON-able tree and the array blobs it points into."""

    tree: Any
    blobs: list[bytes] = field(default_factory=list)


def describe_type(value: Any) -> str:
    """A short name for ``value``'s type, for messages: ``Dense``, ``numpy.ndarray``."""
    cls = type(value)
    module = (getattr(cls, "__module__", "") or "").split(".")[0]
    name = getattr(cls, "__qualname__", "?")[:80]
    return f"{module}.{name}" if module in ("numpy", "cupy") else name


def _array_bytes(array: np.ndarray) -> bytes:
    if array.dtype.kind not in NUMERIC_KINDS:
        raise CodecError(f"arrays must have a numeric dtype; received dtype {array.dtype}")
    if array.nbytes > MAX_ARRAY_BYTES:
        raise CodecError(
            f"array of shape {array.shape} is {array.nbytes / 2**20:.0f} MiB; "
            f"at most {MAX_ARRAY_BYTES // 2**20} MiB may cross"
        )
    buffer = io.BytesIO()
    # np.asarray, not np.ascontiguousarray: that one turns a 0-d array into shape (1,)
    np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
    return buffer.getvalue()


def _as_host_array(value: Any) -> np.ndarray | None:
    """A plain numpy copy of ``value`` if it is a numpy/CuPy array (or subclass), else None."""
    if isinstance(value, np.ndarray):
        return np.array(value.view(np.ndarray), copy=True)
    module = type(value).__module__ or ""
    if module.startswith("cupy") and hasattr(value, "get"):  # a CuPy array: copy to the host
        return np.asarray(value.get())
    for base in type(value).__mro__:  # subclasses of a CuPy array (Beras' GPU Tensor)
        if (base.__module__ or "").startswith("cupy") and base.__name__ == "ndarray":
            return np.asarray(value.get())
    return None


def encode(value: Any, *, ref_of: Callable[[Any], int | None] | None = None) -> Payload:
    """Encode ``value`` as plain data.

    Args:
        value: numbers, bools, None, strings, numpy/CuPy arrays and numpy scalars, and
            lists, tuples, slices and str-keyed dicts of these.
        ref_of: maps an object that must stay remote (a handle) to its reference id, or
            returns None for anything else. Without it, only plain data is accepted.

    Returns:
        The payload.

    Raises:
        CodecError: for anything else, naming the offending type and where it sat.
    """
    payload = Payload(tree=None)
    payload.tree = _encode(value, payload.blobs, ref_of, "value", 0)
    return payload


def _encode(value: Any, blobs: list[bytes], ref_of, where: str, depth: int) -> Any:
    """Encode one value (``where`` names it in messages), appending arrays to ``blobs``."""
    if depth > MAX_DEPTH:
        raise CodecError(f"{where}: nested deeper than {MAX_DEPTH} levels")
    ref = ref_of(value) if ref_of is not None else None
    if ref is not None:
        return {"$ref": ref}
    if value is None or isinstance(value, (bool, str, int, float, complex, np.generic)):
        return _encode_scalar(value, blobs, ref_of, where, depth)
    array = _as_host_array(value)
    if array is not None:
        try:
            blobs.append(_array_bytes(array))
        except CodecError as error:
            raise CodecError(f"{where}: {error}") from None
        return {"$array": len(blobs) - 1}
    if isinstance(value, (slice, list, tuple, dict)):
        return _encode_container(value, blobs, ref_of, where, depth)
    raise CodecError(
        f"{where}: a {describe_type(value)} object cannot cross as a value; only numbers, strings, "
        "None, numeric arrays, and lists/tuples/dicts of these can"
    )


def _encode_scalar(value: Any, blobs: list[bytes], ref_of, where: str, depth: int) -> Any:
    """None, bools, strings, Python numbers and numeric numpy scalars."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        value = int(value)
        if value.bit_length() > MAX_INT_BITS:
            raise CodecError(f"{where}: an int of {value.bit_length()} bits is too large to cross")
        return value
    if isinstance(value, float):  # numpy's float64 too: it subclasses float
        return value if math.isfinite(value) else {"$float": repr(float(value))}
    if isinstance(value, complex):
        return {"$complex": [_encode(value.real, blobs, None, where, depth + 1),
                             _encode(value.imag, blobs, None, where, depth + 1)]}
    if value.dtype.kind not in NUMERIC_KINDS:  # any other numpy scalar
        raise CodecError(f"{where}: numpy scalar of dtype {value.dtype} is not numeric")
    return _encode(value.item(), blobs, ref_of, where, depth + 1)


def _encode_container(value: slice | list | tuple | dict, blobs: list[bytes], ref_of, where: str,
                      depth: int) -> Any:
    """Slices, lists, tuples and str-keyed dicts, item by item."""
    if isinstance(value, slice):
        return {"$slice": [_encode(part, blobs, None, where, depth + 1)
                           for part in (value.start, value.stop, value.step)]}
    if isinstance(value, (list, tuple)):
        items = [_encode(item, blobs, ref_of, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
        return items if isinstance(value, list) else {"$tuple": items}
    out = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise CodecError(f"{where}: dict keys must be strings; received a {describe_type(key)} key")
        if key in _TAGS:
            raise CodecError(f"{where}: the dict key {key!r} is reserved")
        out[key] = _encode(item, blobs, ref_of, f"{where}[{key!r}]", depth + 1)
    return out


def decode(payload: Payload, *, resolve: Callable[[int], Any] | None = None) -> Any:
    """Rebuild the value of ``payload``; ``resolve`` turns ``{"$ref": id}`` into an object.

    Raises:
        CodecError: on a malformed tree, a non-numeric or oversized array, or a reference
            where none is allowed.
    """
    return _decode(payload.tree, payload.blobs, resolve, 0)


def _decode(tree: Any, blobs: list[bytes], resolve, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError(f"value nested deeper than {MAX_DEPTH} levels")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        return [_decode(item, blobs, resolve, depth + 1) for item in tree]
    if not isinstance(tree, dict):
        raise CodecError(f"malformed value tree: unexpected {type(tree).__name__}")
    if len(tree) == 1 and next(iter(tree)) in _TAGS:
        (tag, body), = tree.items()
        return _decode_tagged(tag, body, blobs, resolve, depth)
    return {key: _decode(item, blobs, resolve, depth + 1) for key, item in tree.items()}


def _decode_tagged(tag: str, body: Any, blobs: list[bytes], resolve, depth: int) -> Any:
    """The value of a one-key ``{tag: body}`` object, ``tag`` one of ``_TAGS``."""
    if tag == "$array":
        return _load_array(blobs, body)
    if tag == "$tuple":
        return tuple(_decode(item, blobs, resolve, depth + 1) for item in _list(body, tag))
    if tag == "$slice":
        return slice(*(_decode(item, blobs, None, depth + 1) for item in _list(body, tag, 3)))
    if tag == "$float":
        if body not in ("nan", "inf", "-inf"):
            raise CodecError(f"malformed value tree: $float {body!r}")
        return float(body)
    if tag == "$complex":
        real, imag = (_decode(item, blobs, None, depth + 1) for item in _list(body, tag, 2))
        if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in (real, imag)):
            raise CodecError("malformed value tree: bad $complex body")
        return complex(real, imag)
    if resolve is None or not isinstance(body, int) or isinstance(body, bool):  # "$ref"
        raise CodecError("a reference to a remote object arrived where only plain data may")
    return resolve(body)


def _list(body: Any, tag: str, length: int | None = None) -> list:
    if not isinstance(body, list) or (length is not None and len(body) != length):
        raise CodecError(f"malformed value tree: bad {tag} body")
    return body


def _load_array(blobs: list[bytes], index: Any) -> np.ndarray:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(blobs):
        raise CodecError("malformed value tree: array index out of range")
    blob = blobs[index]
    if len(blob) > MAX_ARRAY_BYTES + 4096:
        raise CodecError(f"array of {len(blob) / 2**20:.0f} MiB is over the "
                         f"{MAX_ARRAY_BYTES // 2**20} MiB cap")
    # Check the header before taking the data: only a numeric dtype, and exactly the declared size.
    stream = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise CodecError(f"malformed array: unsupported .npy format version {version}")
    except CodecError:
        raise
    except (ValueError, OSError, EOFError, SyntaxError) as error:
        raise CodecError(f"malformed array: {error}") from None
    if dtype.kind not in NUMERIC_KINDS:
        raise CodecError(f"arrays must have a numeric dtype; received dtype {dtype}")
    declared = math.prod(shape) * dtype.itemsize
    if declared > MAX_ARRAY_BYTES:
        raise CodecError(f"array of shape {shape} is over the {MAX_ARRAY_BYTES // 2**20} MiB cap")
    if declared != len(blob) - stream.tell():
        raise CodecError("malformed array: its data does not match the shape in its header")
    # The header is read once (above); the data is the numeric dtype's raw bytes, taken as they are
    # (np.load would parse the header a second time). A copy: writable, and not tied to the message.
    try:
        flat = np.frombuffer(blob, dtype=dtype, count=math.prod(shape), offset=stream.tell())
        return flat.reshape(shape, order="F" if fortran_order else "C").copy(order="K")
    except (ValueError, TypeError) as error:
        raise CodecError(f"malformed array: {error}") from None


def pack(header: dict, blobs: list[bytes]) -> bytes:
    """Frame a message: lengths, the JSON header, then each blob with its length."""
    try:
        text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    except (ValueError, TypeError, RecursionError) as error:
        raise CodecError(f"cannot frame message: {error}") from None
    parts = [_LENGTH.pack(len(text), len(blobs)), text]
    for blob in blobs:
        parts += [struct.pack("!Q", len(blob)), blob]
    return b"".join(parts)


def unpack(data: bytes) -> tuple[dict, list[bytes]]:
    """Inverse of :func:`pack`, with every length checked against the caps.

    Raises:
        CodecError: on a truncated, oversized or malformed message.
    """
    if len(data) > MAX_MESSAGE_BYTES:
        raise CodecError(f"message of {len(data) / 2**20:.0f} MiB is over the "
                         f"{MAX_MESSAGE_BYTES // 2**20} MiB cap")
    try:
        text_length, count = _LENGTH.unpack_from(data, 0)
        offset = _LENGTH.size
        if text_length > MAX_TREE_CHARS:
            raise CodecError(f"message header of {text_length} bytes is over the cap")
        header = json.loads(data[offset : offset + text_length])
        offset += text_length
        blobs = []
        for _ in range(count):
            (length,) = struct.unpack_from("!Q", data, offset)
            offset += 8
            if offset + length > len(data):
                raise CodecError("truncated message")
            blobs.append(data[offset : offset + length])
            offset += length
    except CodecError:
        raise
    # ValueError covers bad JSON and UTF-8 and over-long ints; RecursionError, nesting too deep.
    except (struct.error, ValueError, RecursionError) as error:
        raise CodecError(f"malformed message: {str(error)[:200]}") from None
    if offset != len(data) or not isinstance(header, dict):
        raise CodecError("malformed message: trailing bytes or a header that is not an object")
    return header, blobs
