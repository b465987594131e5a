"""beras.data: IDX reading (every element type, plain and gzip, every error) and the digits split."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from beras import data
from beras.data import IdxError, load_digits, read_idx

TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SHAPES = [(7,), (3, 5), (2, 3, 4)]


def idx_bytes(array, type_code, shape=None):
    """Serialize ``array`` the way MNIST's files are: header, big-endian dims, big-endian data."""
    shape = array.shape if shape is None else shape
    header = bytes([0, 0, type_code, len(shape)]) + np.asarray(shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=TYPES[type_code]).tobytes()


def sample(type_code, shape, seed=0):
    """Values that exercise the full range (and so the byte order) of each type."""
    gen = np.random.default_rng(seed)
    dtype = np.dtype(TYPES[type_code])
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        values = gen.integers(info.min, info.max, size=shape, endpoint=True)
        values.flat[0], values.flat[-1] = info.min, info.max
    else:
        values = gen.normal(0, 1e3, size=shape)
    return values.astype(dtype.newbyteorder("="))


def write(tmp_path, raw, name="data.idx", compress=False):
    path = tmp_path / (name + (".gz" if compress else ""))
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


# --- read_idx: round trips -----------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{len(s)}d")
@pytest.mark.parametrize("type_code", sorted(TYPES), ids=lambda t: f"0x{t:02X}")
def test_read_idx_round_trip(tmp_path, type_code, shape, compress):
    values = sample(type_code, shape)
    path = write(tmp_path, idx_bytes(values, type_code), compress=compress)
    out = read_idx(path)
    assert out.shape == shape
    assert out.dtype == values.dtype
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, values)
    assert read_idx(str(path), expect_ndim=len(shape)).shape == shape  # str paths work too


def test_read_idx_result_is_writeable_and_independent(tmp_path):
    values = sample(0x0C, (4, 4))
    out = read_idx(write(tmp_path, idx_bytes(values, 0x0C)))
    out[0, 0] = 1  # a real array, not a read-only buffer view
    assert out[0, 0] == 1


def test_read_idx_known_bytes(tmp_path):
    """A hand-written file: two int16 values 0x0102 and -2, big-endian."""
    raw = b"\x00\x00\x0b\x01" + b"\x00\x00\x00\x02" + b"\x01\x02" + b"\xff\xfe"
    np.testing.assert_array_equal(read_idx(write(tmp_path, raw)), [258, -2])


def test_read_idx_empty_dimension(tmp_path):
    out = read_idx(write(tmp_path, idx_bytes(np.zeros((0, 3), dtype=np.uint8), 0x08)))
    assert out.shape == (0, 3)


# --- read_idx: errors ----------------------------------------------------------------------


def _good(type_code=0x08, shape=(2, 3)):
    return idx_bytes(sample(type_code, shape), type_code)


BAD_FILES = {
    "nonzero first byte": lambda: b"\x01" + _good()[1:],
    "nonzero second byte": lambda: b"\x00\x07" + _good()[2:],
    "unknown type code": lambda: _good()[:2] + b"\x0a" + _good()[3:],
    "too short for a header": lambda: b"\x00\x00",
    "empty file": lambda: b"",
    "truncated header": lambda: _good(shape=(2, 3, 4))[:10],
    "truncated data": lambda: _good(0x0D, (2, 3))[:-1],
    "trailing bytes": lambda: _good(0x0E, (2, 3)) + b"\x00",
}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_read_idx_malformed_file_raises_idx_error_naming_path(tmp_path, case, compress):
    path = write(tmp_path, BAD_FILES[case](), name="broken-file.idx", compress=compress)
    with pytest.raises(IdxError) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("nonzero first byte", "magic"),
        ("unknown type code", "magic"),
        ("truncated header", "header"),
        ("truncated data", "truncated"),
        ("trailing bytes", "unexpected bytes"),
    ],
)
def test_read_idx_error_says_what_was_wrong(tmp_path, case, pattern):
    path = write(tmp_path, BAD_FILES[case]())
    with pytest.raises(IdxError, match=pattern):
        read_idx(path)


def test_read_idx_expect_ndim_mismatch(tmp_path):
    path = write(tmp_path, _good(shape=(2, 3)))
    with pytest.raises(IdxError, match="expected 3") as info:
        read_idx(path, expect_ndim=3)
    assert str(path) in str(info.value)
    assert read_idx(path, expect_ndim=2).shape == (2, 3)


def _damage_truncate(blob):
    return blob[: len(blob) // 2]


def _damage_crc(blob):
    return blob[:-8] + bytes([blob[-8] ^ 0xFF]) + blob[-7:]


def _damage_body(blob):
    body = bytearray(blob)
    for k in range(12, len(body) - 8, 3):  # scramble the deflate stream, keep the gzip header
        body[k] ^= 0xA5
    return bytes(body)


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_crc, _damage_body],
                         ids=["truncated", "crc", "body"])
def test_read_idx_damaged_gzip(tmp_path, damage):
    blob = gzip.compress(_good(0x0C, (16, 16)))
    path = tmp_path / "damaged.idx.gz"
    path.write_bytes(damage(blob))
    with pytest.raises(IdxError) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


def test_idx_error_is_a_value_error():
    assert issubclass(data.IdxError, ValueError)


# --- load_digits ---------------------------------------------------------------------------

N_DIGITS = 1797


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_load_digits_shapes_and_values(digits):
    x_train, y_train, x_test, y_test = digits
    assert x_train.shape[1:] == (8, 8, 1) and x_test.shape[1:] == (8, 8, 1)
    assert y_train.shape[1:] == (10,) and y_test.shape[1:] == (10,)
    assert len(x_train) == len(y_train) and len(x_test) == len(y_test)
    assert len(x_train) + len(x_test) == N_DIGITS
    for x in (x_train, x_test):
        assert x.dtype == np.float32
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert x.max() == 1.0  # scaled by 16, not left in [0, 16] or squeezed
    for y in (y_train, y_test):
        assert y.dtype == np.float32
        assert set(np.unique(y)) == {0.0, 1.0}
        np.testing.assert_array_equal(y.sum(axis=1), 1.0)


def test_load_digits_split_is_a_partition(digits):
    from sklearn.datasets import load_digits as sklearn_digits

    images, labels = sklearn_digits(return_X_y=True)
    x_train, y_train, x_test, y_test = digits
    ours = np.concatenate([np.concatenate([x_train, x_test]).reshape(N_DIGITS, 64) * 16,
                           np.concatenate([y_train, y_test]).argmax(1)[:, None]], axis=1)
    theirs = np.concatenate([images, labels[:, None]], axis=1)
    sort = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(sort(ours), sort(theirs))


def test_load_digits_test_fraction_and_stratification(digits):
    _, y_train, _, y_test = digits
    assert len(y_test) / N_DIGITS == pytest.approx(0.2, abs=0.01)
    test_counts = y_test.sum(axis=0)
    total_counts = test_counts + y_train.sum(axis=0)
    assert (test_counts > 0).all()
    np.testing.assert_allclose(test_counts / total_counts, 0.2, atol=0.01)


def test_load_digits_other_fraction():
    x_train, _, x_test, y_test = load_digits(test_fraction=0.5, seed=1)
    assert len(x_test) / N_DIGITS == pytest.approx(0.5, abs=0.01)
    assert len(x_train) + len(x_test) == N_DIGITS
    assert (y_test.sum(axis=0) > 0).all()


def test_load_digits_seed_controls_the_split(digits):
    again = load_digits(seed=0)
    for a, b in zip(digits, again):
        np.testing.assert_array_equal(a, b)
    other = load_digits(seed=1)
    assert not np.array_equal(digits[2], other[2])  # different test images
    assert not np.array_equal(digits[0], other[0])


def test_load_digits_dtype_argument():
    x_train, y_train, _, _ = load_digits(dtype=np.float64)
    assert x_train.dtype == np.float64 and y_train.dtype == np.float64


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_load_digits_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="Received"):
        load_digits(test_fraction=fraction)
