"""The mask comes from Beras's seeded generator: one seed, one mask; another seed or another call, another
mask."""

from __future__ import annotations

import numpy as np

from grader.harness import assert_close

SHAPE = (40, 50)


def _run(student, x, rate=0.5):
    return student.beras.Dropout(rate)(student.beras.Tensor(x))


def test_same_seed_same_mask(student, seed, mask_of, nonzero):
    """``beras.set_seed(s)`` before two layers' calls gives the same output twice (draw from
    ``beras.initializers.rng()``)."""
    x = nonzero(SHAPE)
    student.beras.set_seed(seed)
    first = mask_of(_run(student, x), 0.5, "Dropout(0.5) after beras.set_seed")
    student.beras.set_seed(seed)
    second = mask_of(_run(student, x), 0.5, "Dropout(0.5) after beras.set_seed with the same seed")
    assert_close(second.astype(float), first.astype(float), rtol=0, atol=0,
                 what="the kept inputs of two Dropout(0.5) calls, each right after beras.set_seed with the "
                      "same seed")


def test_other_seed_other_mask(student, seed, mask_of, nonzero):
    """Two seeds give two different masks: the mask is not fixed by a seed of the layer's own."""
    x = nonzero(SHAPE)
    student.beras.set_seed(seed)
    first = mask_of(_run(student, x), 0.5, "Dropout(0.5) after beras.set_seed")
    student.beras.set_seed(seed + 1)
    second = mask_of(_run(student, x), 0.5, "Dropout(0.5) after beras.set_seed with another seed")
    differ = float(np.mean(first != second))
    assert differ > 0.3, (
        "Dropout(0.5) after beras.set_seed with two different seeds kept the same inputs but for "
        f"{differ:.3f} of them (about half should differ): draw the mask from Beras's generator, "
        "beras.initializers.rng()"
    )


def test_new_mask_each_call(student, mask_of, nonzero):
    """One layer called twice in training draws a new mask each time."""
    layer = student.beras.Dropout(0.5)
    x = nonzero(SHAPE)
    first = mask_of(layer(student.beras.Tensor(x)), 0.5, "Dropout(0.5), first call")
    second = mask_of(layer(student.beras.Tensor(x)), 0.5, "Dropout(0.5), second call")
    differ = float(np.mean(first != second))
    assert differ > 0.3, (
        f"Dropout(0.5) called twice kept the same inputs but for {differ:.3f} of them (about half should "
        "differ): draw a new mask on every call"
    )
