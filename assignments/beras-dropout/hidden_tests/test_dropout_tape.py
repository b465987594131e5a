"""Dropout inside a GradientTape: ``MSE(Dropout(Dense(x)), y)``, the gradients for x and Dense's kernel and
bias.

The tape, Dense and the loss are the released solutions; what is tested is that Dropout gives the
tape what it needs for each call. The expected gradients are computed here with numpy from the
student's mask (read off the dropout output) and the scale 1 / (1 - rate).
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, fetch

CASES = {"rate0.5": (0.5, (16, 6), 40), "rate0.25-batch1": (0.25, (1, 8), 200)}


def _expected(x, w, b, kept, rate, target):
    """The chain rule by hand: z = x w + b, h = z * mask, L = mean((h - y)^2)."""
    scale = np.where(kept, 1 / (1 - rate), 0.0)
    h = (x @ w + b) * scale
    dh = 2 * (h - target) / h.size
    dz = dh * scale
    return [dz @ w.T, x.T @ dz, dz.sum(axis=0)]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_tape_through_dense_dropout_mse(student, rng, mask_of, nonzero, case):
    rate, shape, width = case
    lib = student.beras
    dense, drop = lib.Dense(shape[1], width), lib.Dropout(rate)
    w, b = rng.normal(0.0, 0.5, size=(shape[1], width)), rng.normal(0.0, 0.5, size=(width,))
    dense.w.assign(w)
    dense.b.assign(b)
    x, target = nonzero(shape), rng.standard_normal((shape[0], width))
    xs = lib.Tensor(x)
    with lib.GradientTape() as tape:
        hidden = drop(dense(xs))
        loss = lib.MeanSquaredError()(hidden, lib.Tensor(target))
    what = f"x of shape {shape}: Dense({shape[1]}, {width}) then Dropout({rate}) in training"
    kept = mask_of(hidden, rate, what)
    got = tape.gradient(loss, [xs, dense.w, dense.b])
    assert_close(fetch(got), _expected(x, w, b, kept, rate, target), rtol=1e-6, atol=1e-12,
                 what=f"{what}: tape.gradient(MSE(h, y), [x, kernel, bias])")


def test_tape_through_one_dropout_called_twice(student, rng, mask_of, nonzero):
    """One layer applied twice draws two masks; the tape needs each call's own (keep per-call state on the
    layer)."""
    lib = student.beras
    drop = lib.Dropout(0.5)
    x, target = nonzero((20, 30)), rng.standard_normal((20, 30))
    xs = lib.Tensor(x)
    with lib.GradientTape() as tape:
        first = drop(xs)
        second = drop(first)
        loss = lib.MeanSquaredError()(second, lib.Tensor(target))
    kept_first = mask_of(first, 0.5, "Dropout(0.5), first call")
    # the second call's mask is judged by the seed group (a new mask each call); here it is only read
    kept_both = mask_of(second, None, "the same Dropout(0.5) applied to its own output")
    second_scale = np.where(kept_both, 2.0, 0.0)
    h = np.where(kept_first, 2 * x, 0.0) * second_scale
    dx = (2 * (h - target) / h.size) * second_scale * np.where(kept_first, 2.0, 0.0)
    assert_close(tape.gradient(loss, [xs]), [dx], rtol=1e-6, atol=1e-12,
                 what="Dropout(0.5) applied twice to x of shape (20, 30): tape.gradient(MSE(h, y), [x])")
