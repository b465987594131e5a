"""Sanity checks for Dropout that you can run yourself; the expected values are computed here with plain
numpy.

Run them with pytest (``pytest public_tests``) or without it (the starter's mini runner).
Passing them is a start, not a guarantee: the graded tests try several rates and shapes, the
gradient inside a GradientTape, and the seeding of the mask.
"""

import numpy as np

from grader.harness import assert_close, fetch


def _ones_run(student, seed, rate, shape=(50, 40)):
    """A seeded Dropout(rate) in training on an input of ones: returns the layer and its output."""
    student.beras.set_seed(seed)
    layer = student.beras.Dropout(rate)
    return layer, fetch(layer(student.beras.Tensor(np.ones(shape))))


def test_sanity_training_zeroes_and_scales(student, seed):
    """Dropout(0.5) on ones: every output is 0 (dropped) or 2 = 1 / (1 - 0.5) (kept), about half of them 0."""
    _, out = _ones_run(student, seed, 0.5)
    assert out.shape == (50, 40), f"Dropout(0.5) on ones (50, 40) gave shape {out.shape}"
    assert np.all((out == 0) | np.isclose(out, 2.0)), (
        "Dropout(0.5) on ones: each output must be 0 (dropped) or 2 (kept, scaled by 1 / (1 - rate))"
    )
    dropped = float(np.mean(out == 0))
    assert 0.4 <= dropped <= 0.6, (
        f"Dropout(0.5) on 2000 ones dropped {dropped:.3f} of them; expected about 0.5")


def test_sanity_inference_is_identity(student, seed, rng):
    """With ``layer.training = False`` Dropout returns its input unchanged."""
    layer, out = _ones_run(student, seed, 0.5)
    assert np.any(out == 0), "Dropout(0.5) in training dropped nothing of 2000 ones"
    layer.training = False
    x = rng.standard_normal((6, 5))
    assert_close(layer(student.beras.Tensor(x)), x, rtol=0, atol=0, what="Dropout(0.5) with training = False")


def test_sanity_gradient_through_the_mask(student, seed, rng):
    """dL/dx = J where kept, times 1 / (1 - rate); 0 where dropped."""
    layer, out = _ones_run(student, seed, 0.25, shape=(40, 25))
    dropped = float(np.mean(out == 0))
    assert 0.15 <= dropped <= 0.35, (
        f"Dropout(0.25) on 1000 ones dropped {dropped:.3f} of them; expected about 0.25")
    J = rng.standard_normal((40, 25))
    grads = fetch(layer.compose_input_gradients(student.beras.Tensor(J)))
    assert isinstance(grads, (list, tuple)) and len(grads) == 1, "compose_input_gradients must return [dL/dx]"
    assert_close(grads[0], np.where(out != 0, J / 0.75, 0.0), rtol=1e-5, atol=1e-6,
                 what="Dropout(0.25) compose_input_gradients(J)[0]")
