"""Data sets: scikit-learn's bundled 8x8 digits, and a reader for MNIST's IDX files.

``load_digits`` needs no network: the digits ship inside scikit-learn. ``read_idx``
reads the IDX format (plain or gzip) in which MNIST is distributed:

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions
    then        one big-endian uint32 per dimension, then the data, big-endian, row-major
"""

from __future__ import annotations

import gzip
import os
import zlib
from typing import Any

import numpy as np

IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxError(ValueError):
    """An IDX file is malformed; the message names the file and what was wrong."""


def load_digits(test_fraction: float = 0.2, seed: int = 0, dtype: Any = np.float32) -> tuple:
    """Return the 1,797 scikit-learn digits split into train and test sets.

    Args:
        test_fraction: share of the examples held out, stratified per class.
        seed: the split's random seed (the same seed gives the same split).
        dtype: float dtype of the images and labels.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: images ``(n, 8, 8, 1)`` scaled to
        ``[0, 1]`` and one-hot labels ``(n, 10)``.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1. Received: {test_fraction!r}")
    from sklearn.datasets import load_digits as sklearn_digits  # heavy import, only when asked

    images, labels = sklearn_digits(return_X_y=True)
    images = (images / 16.0).reshape(-1, 8, 8, 1).astype(dtype)
    onehot = np.eye(10, dtype=dtype)[labels]
    gen = np.random.default_rng(seed)
    test_index = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        test_index.extend(gen.choice(members, size=round(len(members) * test_fraction), replace=False))
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test_index] = True
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    train = gen.permutation(train)
    return images[train], onehot[train], images[test], onehot[test]


def read_idx(path: str | os.PathLike, expect_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a native-endian numpy array.

    Args:
        path: the file.
        expect_ndim: when given, the number of dimensions the file must have
            (3 for MNIST images, 1 for labels).

    Raises:
        IdxError: bad magic number, unknown element type, wrong number of dimensions,
            truncated data or trailing bytes; the message names the file.
        FileNotFoundError: when there is no such file.
    """
    name = os.fspath(path)
    with open(name, "rb") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise IdxError(f"{name}: the gzip stream is damaged ({exc})") from exc
    if len(raw) < 4:
        raise IdxError(f"{name}: too short for an IDX header (4 bytes); it has {len(raw)}")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise IdxError(
            f"{name}: bad magic number 0x{raw[:4].hex()}; expected 0x0000TTNN with type TT in "
            f"{{{', '.join(f'{t:02x}' for t in IDX_TYPES)}}} (is this an IDX file?)"
        )
    dtype, ndim = IDX_TYPES[raw[2]], raw[3]
    if expect_ndim is not None and ndim != expect_ndim:
        raise IdxError(f"{name}: has {ndim} dimensions; expected {expect_ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxError(f"{name}: truncated header: {ndim} dimensions need {header} bytes, the file has "
                       f"{len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(raw) - header
    if have < expected:
        raise IdxError(f"{name}: truncated data: shape {shape} needs {expected} bytes, the file has {have}")
    if have > expected:
        raise IdxError(f"{name}: {have - expected} unexpected bytes after the data of shape {shape}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))
