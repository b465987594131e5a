"""assert_close and assert_equal: failures teach (call, shapes, errors) and never show expected values."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, assert_equal

SECRET = 123.456  # a distinctive expected value: it must never appear in a failure message


def failure(actual, expected, **kwargs) -> str:
    with pytest.raises(AssertionError) as caught:
        assert_close(actual, expected, **kwargs)
    message = str(caught.value)
    assert "123.456" not in message and "123.45" not in message
    return message


def expected_grid() -> np.ndarray:
    return np.array([[SECRET, 1000.0, 2.0], [3.0, 4.0, 0.001]])


# ---------------------------------------------------------------------------- passing


def test_passes_within_tolerance(core):
    expected = expected_grid()
    assert_close(core.identity(expected * (1 + 1e-7)), expected)
    assert_close(core.identity(expected + 5e-8), expected)
    assert_close(expected + 1e-3, expected, rtol=0, atol=1e-2)
    assert_close(expected * 1.01, expected, rtol=0.02)
    assert_close(core.identity(expected.astype(np.float32)), expected, rtol=1e-6)
    assert_close(3, 3.0)
    assert_close(np.float32(1.5), 1.5)
    assert_close(1.0 + 1e-9, 1.0)


def test_passes_for_matching_nans_and_infinities():
    assert_close(np.array([np.nan, np.inf, -np.inf, 1.0]), np.array([np.nan, np.inf, -np.inf, 1.0]))


def test_passes_for_lists_item_by_item(core):
    assert_close(core.Bag([np.ones(2), 3.0]).items, [np.ones(2), 3.0])
    assert_close((np.zeros(1), 2), [np.zeros(1), 2])


def test_passes_for_complex_values():
    assert_close(np.array([1 + 2j, 3j]), np.array([1 + 2j, 3j]))


# ---------------------------------------------------------------------------- failing


def test_failure_names_the_call_counts_and_locates_the_largest_errors(core):
    expected = expected_grid()
    actual = expected.copy()
    actual[0, 1] += 0.5  # the largest absolute error (relative 5e-4)
    actual[1, 2] += 0.01  # the largest relative error (10x)
    message = failure(core.identity(actual), expected)
    assert message.startswith("student.beras.core.identity(float64[2, 3]): ")
    assert "2 of 6 elements differ beyond rtol=1e-05, atol=1e-07" in message
    assert "Largest absolute error 0.5 at index (0, 1)" in message
    assert "largest relative error 10 at index (1, 2)" in message


def test_failure_on_a_shape_mismatch(core):
    message = failure(core.identity(np.zeros((3, 2))), expected_grid())
    assert message == ("student.beras.core.identity(float64[3, 2]): "
                       "expected shape (2, 3), received shape (3, 2)")


def test_failure_on_a_scalar():
    message = failure(1.0, SECRET, what="the loss")
    assert message.startswith("the loss: 1 of 1 elements differ")
    assert "Largest absolute error 122 at index" in message


def test_failure_on_nan_where_a_number_was_expected(core):
    actual = expected_grid()
    actual[1, 0] = np.nan
    message = failure(core.identity(actual), expected_grid())
    assert "1 element(s) differ in NaN-ness; first at (1, 0) (NaN)" in message


def test_failure_on_a_number_where_nan_was_expected():
    expected = np.array([SECRET, np.nan, np.nan])
    message = failure(np.array([SECRET, 1.0, 2.0]), expected)
    assert "2 element(s) differ in NaN-ness; first at (1,) (a number where NaN was expected)" in message


@pytest.mark.parametrize(
    ("actual", "expected"),
    [([1.0], [np.inf]), ([-np.inf], [np.inf]), ([np.inf], [SECRET]), ([np.inf, 1.0], [-np.inf, 1.0])],
    ids=["finite-vs-inf", "opposite-infinities", "inf-vs-finite", "mixed"],
)
def test_infinities_are_close_only_to_themselves(actual, expected):
    message = failure(np.array(actual), np.array(expected))
    assert "1 of" in message and "Largest absolute error inf" in message


def test_failure_in_a_list_names_the_item(core):
    grads = core.Bag([np.ones(2), np.full(3, 2.0)]).items
    message = failure(grads, [np.ones(2), np.full(3, SECRET)])
    assert message.startswith(
        "student.beras.core.Bag([float64[2], float64[3]]).items[1]: 3 of 3 elements differ")
    message = failure([np.ones(2), [1.0, 2.0]], [np.ones(2), [1.0, SECRET]], what="grads")
    assert message.startswith("grads[1][1]: 1 of 1 elements differ")


def test_failure_on_list_length_or_kind(core):
    assert failure([1.0, 2.0, 3.0], [SECRET, 1.0], what="w") == "w: expected 2 values, received 3"
    message = failure(np.ones(2), [SECRET, 1.0], what="w")
    assert message == "w: expected a list of 2 values, received a ndarray"


@pytest.mark.parametrize("actual", ["a string", None, {"a": 1}])
def test_failure_on_a_non_array(actual):
    message = failure(actual, np.full((2, 2), SECRET), what="out")
    assert message == f"out: expected an array of shape (2, 2), received {type(actual).__name__}"


@pytest.mark.parametrize("expected", [SECRET, np.full(4, SECRET), np.array([[SECRET, -SECRET]])])
def test_expected_values_never_leak(expected):
    for actual in (np.zeros_like(expected), np.zeros(7), np.full_like(expected, np.nan), "nope"):
        message = failure(actual, expected)
        assert repr(expected) not in message and str(SECRET) not in message


def test_tolerances_appear_in_the_message():
    message = failure(np.array([1.0]), np.array([2.0]), rtol=0.25, atol=0.125)
    assert "rtol=0.25, atol=0.125" in message


# ---------------------------------------------------------------------------- assert_equal


def test_assert_equal_passes_on_equal_values(core):
    assert_equal(core.add(2, 3), 5)
    assert_equal(core.add("a", "b"), "ab")
    assert_equal(core.identity((4, 3)), (4, 3))
    assert_equal(core.identity(np.arange(3)), np.arange(3))
    assert_equal(7, 7)


def test_assert_equal_failure_shows_the_received_value_only(core):
    with pytest.raises(AssertionError) as caught:
        assert_equal(core.add(2, 3), 123456)
    assert str(caught.value) == "student.beras.core.add(2, 3): received 5, which is not the expected value"
    with pytest.raises(AssertionError) as caught:
        assert_equal(core.add("a", "b"), "secret-answer", what="the name")
    assert str(caught.value) == "the name: received 'ab', which is not the expected value"
    assert "secret-answer" not in str(caught.value)


def test_assert_equal_on_arrays_is_exact(core):
    with pytest.raises(AssertionError) as caught:
        assert_equal(core.identity(np.array([1.0, 2.0])), np.array([1.0, 2.0 + 1e-12]))
    assert "1 of 2 elements differ beyond rtol=0, atol=0" in str(caught.value)


def test_assert_equal_shortens_long_received_values():
    with pytest.raises(AssertionError) as caught:
        assert_equal("x" * 500, "y")
    assert len(str(caught.value)) < 200
