"""Assertions for test authors whose failure messages teach without revealing hidden values.

A failure says what was called (with which shapes), what shape was expected, and the
largest absolute and relative errors and where they are. It never prints the expected
values, so a hidden test's answer does not leak through its feedback.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.harness.handles import Handle, fetch

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-7


def _what(actual: Any, what: str | None) -> str:
    if what:
        return what
    if isinstance(actual, Handle):
        return object.__getattribute__(actual, "_description")
    return "the value"


def _index(flat_index: int, shape: tuple) -> str:
    return str(tuple(int(i) for i in np.unravel_index(flat_index, shape))) if shape else "()"


def assert_close(
    actual: Any, expected: Any, *, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
    what: str | None = None,
) -> None:
    """Assert that ``actual`` (a handle or a value) matches ``expected`` within tolerance.

    ``|actual - expected| <= atol + rtol * |expected|`` elementwise, like ``numpy.isclose``.
    Lists and tuples are compared item by item (e.g. the gradients of each weight).

    Args:
        actual: the student's result: a handle (fetched here) or an already fetched value.
        expected: the reference's result.
        rtol, atol: tolerances.
        what: how to name the value in a failure; defaults to the call that made the handle.

    Raises:
        AssertionError: with a message naming the call, the shapes and the largest errors.
    """
    what = _what(actual, what)
    actual, expected = fetch(actual), fetch(expected)
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            raise AssertionError(f"{what}: expected a list of {len(expected)} values, "
                                 f"received a {type(actual).__name__}")
        if len(actual) != len(expected):
            raise AssertionError(f"{what}: expected {len(expected)} values, received {len(actual)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol=rtol, atol=atol, what=f"{what}[{i}]")
        return
    _compare_arrays(actual, expected, rtol, atol, what)


def _compare_arrays(actual: Any, expected: Any, rtol: float, atol: float, what: str) -> None:
    expected_array = np.asarray(expected)
    if isinstance(actual, (str, dict, list, tuple)) or actual is None:
        raise AssertionError(
            f"{what}: expected an array of shape {expected_array.shape}, received {type(actual).__name__}"
        )
    actual_array = np.asarray(actual)
    if actual_array.shape != expected_array.shape:
        raise AssertionError(
            f"{what}: expected shape {expected_array.shape}, received shape {actual_array.shape}"
        )
    a = actual_array.astype(np.complex128 if actual_array.dtype.kind == "c" else np.float64)
    e = expected_array.astype(np.complex128 if expected_array.dtype.kind == "c" else np.float64)
    shape = a.shape  # reported indices use the true shape, () for a scalar
    a, e = np.atleast_1d(a), np.atleast_1d(e)  # scalars too get arrays that masks can index
    nan_mismatch = np.isnan(a) != np.isnan(e)
    if nan_mismatch.any():
        where = _index(int(np.flatnonzero(nan_mismatch)[0]), shape)
        state = ("NaN" if np.isnan(a).ravel()[np.flatnonzero(nan_mismatch)[0]]
                 else "a number where NaN was expected")
        raise AssertionError(f"{what}: {int(nan_mismatch.sum())} element(s) differ in NaN-ness; "
                             f"first at {where} ({state})")
    with np.errstate(invalid="ignore", over="ignore"):
        both_nan = np.isnan(a) & np.isnan(e)
        diff = np.abs(a - e)
        diff[both_nan] = 0.0
        diff[(a == e)] = 0.0  # equal infinities
        bad = ~(diff <= atol + rtol * np.abs(e))
        bad |= (np.isinf(a) | np.isinf(e)) & (a != e)  # like np.isclose: nothing is close to an infinity
        bad &= ~both_nan  # NaN where NaN was expected is a match (the tolerance there is NaN)
    if not bad.any():
        return
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        rel = diff / np.abs(e)  # an error where 0 was expected is infinitely relative: shown as inf
    rel[np.isnan(rel)] = np.inf  # an infinite error relative to an infinite value
    worst_abs, worst_rel = int(np.nanargmax(diff)), int(np.nanargmax(np.where(bad, rel, -1.0)))
    raise AssertionError(
        f"{what}: {int(bad.sum())} of {bad.size} elements differ beyond rtol={rtol:g}, atol={atol:g}. "
        f"Largest absolute error {diff.ravel()[worst_abs]:.3g} at index {_index(worst_abs, shape)}; "
        f"largest relative error {rel.ravel()[worst_rel]:.3g} at index {_index(worst_rel, shape)}."
    )


def assert_equal(actual: Any, expected: Any, *, what: str | None = None) -> None:
    """Assert exact equality of plain values (ints, strings, shapes); the message shows the received
    value only."""
    what = _what(actual, what)
    actual, expected = fetch(actual), fetch(expected)
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        assert_close(actual, expected, rtol=0.0, atol=0.0, what=what)
        return
    if actual != expected:
        raise AssertionError(f"{what}: received {_short(actual)}, which is not the expected value")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
