"""The given chain rule (Diffable's default compose_*, the tape's plumbing) accepts every correct
local-gradient form.

A course-style Dense leaves composing to the given code and returns its weight gradient as the
per-example Jacobian ``(batch, in, out)`` and its bias gradient as a ``(1, out)`` row; an
elementwise layer may return its Jacobian as ``(batch, n, n)``. All of them are correct and must
compose to the reference's gradients; a wrong value must still give a wrong gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import beras
from beras.core import Diffable


class _CourseDense(beras.Dense):
    """Dense whose local gradients take the form ``weight_form`` says, composed by the given default."""

    compose_input_gradients = Diffable.compose_input_gradients
    compose_weight_gradients = Diffable.compose_weight_gradients

    def __init__(self, n_in: int, n_out: int, weight_form: str, scale: float = 1.0) -> None:
        super().__init__(n_in, n_out)
        self.weight_form, self.scale = weight_form, scale

    def get_input_gradients(self) -> list:
        if self.weight_form == "jacobian":
            x = np.asarray(self.inputs[0])
            return [np.repeat(np.asarray(self.w)[None], len(x), axis=0)]
        return [self.w]

    def get_weight_gradients(self) -> list:
        x = np.asarray(self.inputs[0]) * self.scale
        n_out = self.output_size
        if self.weight_form == "x":
            return [x, np.ones(n_out)]
        if self.weight_form == "leading-one":
            return [x[None], np.ones((1, 1, n_out))]
        return [np.repeat(x[:, :, None], n_out, axis=2), np.ones((1, n_out))]


class _DiagonalSigmoid(beras.Sigmoid):
    """Sigmoid whose local gradient is the full Jacobian per example, ``(batch, n, n)``, composed by the
    default."""

    compose_input_gradients = Diffable.compose_input_gradients

    def get_input_gradients(self) -> list:
        (elementwise,) = super().get_input_gradients()
        return [np.einsum("bi,ij->bij", np.asarray(elementwise), np.eye(elementwise.shape[-1]))]


def _gradients(first, second, activation, x, y):
    with beras.GradientTape() as tape:
        loss = beras.MeanSquaredError()(second(activation(first(x))), y)
    return tape.gradient(loss, [first.w, first.b, second.w, second.b])


def _twins(n_in, n_hidden, n_out, form, rng, scale=1.0):
    ref = [beras.Dense(n_in, n_hidden), beras.Dense(n_hidden, n_out)]
    course = [_CourseDense(n_in, n_hidden, form, scale), _CourseDense(n_hidden, n_out, form, scale)]
    for r, c in zip(ref, course):
        r.b.assign(rng.normal(size=r.b.shape))
        c.w.assign(np.asarray(r.w))
        c.b.assign(np.asarray(r.b))
    return ref, course


@pytest.mark.parametrize("form", ["x", "jacobian", "leading-one"])
@pytest.mark.parametrize("batch,n", [(5, 3), (1, 4), (4, 4)])  # (4, 4): a square kernel shaped like J
def test_course_style_dense_composes_to_the_reference_gradients(form, batch, n):
    rng = np.random.default_rng(3)
    beras.set_floatx("float64")
    try:
        ref, course = _twins(n, n, 2, form, rng)
        x, y = rng.normal(size=(batch, n)), rng.normal(size=(batch, 2))
        want = _gradients(ref[0], ref[1], beras.Sigmoid(), x, y)
        got = _gradients(course[0], course[1], beras.Sigmoid(), x, y)
    finally:
        beras.set_floatx("float32")
    for g, w, name in zip(got, want, ["w1", "b1", "w2", "b2"]):
        assert g.shape == w.shape, f"{form}: dL/d{name} has shape {g.shape}, expected {w.shape}"
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"{form}: dL/d{name}")


def test_a_wrong_jacobian_still_gives_a_wrong_gradient():
    """Accepting the forms hides no bug: a Jacobian with wrong values composes to wrong gradients."""
    rng = np.random.default_rng(4)
    ref, course = _twins(3, 4, 2, "jacobian", rng, scale=2.0)  # every dy/dw doubled: a bug
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    want = _gradients(ref[0], ref[1], beras.ReLU(), x, y)
    got = _gradients(course[0], course[1], beras.ReLU(), x, y)
    np.testing.assert_allclose(got[0], 2 * np.asarray(want[0]), rtol=1e-5)
    assert not np.allclose(got[0], want[0])


def test_elementwise_layer_may_return_its_full_jacobian():
    rng = np.random.default_rng(5)
    x, upstream = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    plain, full = beras.Sigmoid(), _DiagonalSigmoid()
    plain(x)
    full(x)
    np.testing.assert_allclose(full.compose_input_gradients(upstream)[0],
                               plain.compose_input_gradients(upstream)[0], rtol=1e-6)


def test_tape_gives_a_leading_one_gradient_the_source_shape():
    """A ``(1, n)`` bias gradient is returned as ``(n,)``, the shape of the bias it belongs to."""

    class RowBias(beras.Dense):
        def compose_weight_gradients(self, J=None):
            dw, db = super().compose_weight_gradients(J)
            return [dw, np.asarray(db).reshape(1, -1)]

    rng = np.random.default_rng(6)
    layer = RowBias(3, 2)
    with beras.GradientTape() as tape:
        loss = beras.MeanSquaredError()(layer(rng.normal(size=(4, 3))), rng.normal(size=(4, 2)))
    db = tape.gradient(loss, [layer.b])[0]
    assert db.shape == (2,)


def test_a_gradient_of_another_shape_is_not_reshaped():
    """Only leading axes of length 1 go: a ``(2, n)`` gradient of an ``(n,)`` source is left as it is."""
    assert beras.core.squeeze_leading(np.ones((2, 3)), 1).shape == (2, 3)
    assert beras.core.squeeze_leading(np.ones((1, 1, 3)), 1).shape == (3,)
    assert beras.core.squeeze_leading(np.ones((1, 3)), 2).shape == (1, 3)
