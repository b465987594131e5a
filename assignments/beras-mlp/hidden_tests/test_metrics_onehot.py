"""CategoricalAccuracy and OneHotEncoder against the reference, including a single class and unseen labels."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import StudentError, assert_close, assert_equal, fetch


def _vector(value) -> np.ndarray:
    """A fetched value as a 1-D float array, so that scalars compare like arrays."""
    return np.atleast_1d(np.asarray(fetch(value), dtype=np.float64))


@pytest.mark.parametrize("batch,classes", [(1, 3), (10, 4), (37, 10), (64, 2)])
def test_accuracy(student, reference, rng, batch, classes):
    labels = np.eye(classes)[rng.integers(classes, size=batch)]
    probs = rng.dirichlet(np.ones(classes), size=batch)
    hits = rng.random(batch) < 0.5  # make about half the predictions right
    probs[hits] += 2 * labels[hits]
    probs /= probs.sum(axis=1, keepdims=True)
    assert_close(
        _vector(student.beras.CategoricalAccuracy()(probs, labels)),
        _vector(reference.beras.CategoricalAccuracy()(probs, labels)),
        rtol=1e-12,
        atol=1e-12,
        what=f"CategoricalAccuracy()(probs, labels) with shape {(batch, classes)} (a fraction in [0, 1])",
    )


def test_accuracy_on_raw_scores(student, reference, rng):
    """Scores need not be probabilities: negative logits work the same (the largest one wins)."""
    scores = rng.normal(-5.0, 3.0, size=(20, 6))
    labels = np.eye(6)[rng.integers(6, size=20)]
    assert_close(
        _vector(student.beras.CategoricalAccuracy()(scores, labels)),
        _vector(reference.beras.CategoricalAccuracy()(scores, labels)),
        rtol=1e-12,
        atol=1e-12,
        what="CategoricalAccuracy()(scores, labels) with negative raw scores of shape (20, 6)",
    )


def test_accuracy_single_class(student, rng):
    """With one class every prediction is right."""
    probs = rng.uniform(size=(7, 1))
    assert_close(
        _vector(student.beras.CategoricalAccuracy()(probs, np.ones((7, 1)))),
        np.ones(1),
        rtol=0,
        atol=1e-12,
        what="CategoricalAccuracy()(probs, labels) with a single class, shape (7, 1)",
    )


def _labels(rng, kind, size):
    if kind == "contiguous":
        return rng.integers(0, 5, size=size)
    if kind == "gaps":
        return rng.choice(np.array([-3, 2, 7, 40, 41]), size=size)
    return rng.choice(np.array([0.5, 1.5, 2.25]), size=size)


LABEL_KINDS = ["contiguous", "gaps", "floats"]


@pytest.mark.parametrize("kind", LABEL_KINDS)
def test_onehot_encode(student, reference, rng, kind):
    labels = _labels(rng, kind, 30)
    s_enc, r_enc = student.beras.OneHotEncoder(), reference.beras.OneHotEncoder()
    s_enc.fit(labels)
    r_enc.fit(labels)
    queries = labels[rng.permutation(len(labels))][:12]
    assert_close(
        s_enc(queries),
        r_enc(queries),
        rtol=0,
        atol=0,
        what=f"OneHotEncoder: fit on 30 labels ({kind}), then called on 12 of them "
        "(one row per label, one column per distinct label in sorted order)",
    )


def test_onehot_call_fits_first(student, reference, rng):
    """Calling an encoder that was never fitted learns the classes from that call."""
    labels = _labels(rng, "gaps", 15)
    assert_close(
        student.beras.OneHotEncoder()(labels),
        reference.beras.OneHotEncoder()(labels),
        rtol=0,
        atol=0,
        what="OneHotEncoder()(labels) without fit first, on 15 labels",
    )


@pytest.mark.parametrize("kind", LABEL_KINDS)
def test_onehot_inverse(student, reference, rng, kind):
    labels = _labels(rng, kind, 25)
    s_enc, r_enc = student.beras.OneHotEncoder(), reference.beras.OneHotEncoder()
    s_enc.fit(labels)
    r_enc.fit(labels)
    classes = len(np.unique(labels))
    probs = rng.dirichlet(np.ones(classes), size=9)
    assert_close(
        s_enc.inverse(probs),
        r_enc.inverse(probs),
        rtol=0,
        atol=0,
        what=f"OneHotEncoder.inverse(probs) with probs of shape {(9, classes)} after fit on {kind} labels "
        "(the label of each row's largest entry)",
    )


def test_onehot_round_trip(student, rng):
    labels = _labels(rng, "gaps", 20)
    enc = student.beras.OneHotEncoder()
    enc.fit(labels)
    assert_close(
        enc.inverse(enc(labels)),
        labels,
        rtol=0,
        atol=0,
        what="OneHotEncoder.inverse(encoder(labels)) (decoding the encoding gives the labels back)",
    )


def test_onehot_single_class(student, reference):
    labels = np.full(6, 4)
    s_enc, r_enc = student.beras.OneHotEncoder(), reference.beras.OneHotEncoder()
    assert_close(
        s_enc(labels),
        r_enc(labels),
        rtol=0,
        atol=0,
        what="OneHotEncoder()(labels) where every label is the same (one class: shape (6, 1))",
    )
    assert_close(
        s_enc.inverse(np.ones((3, 1))),
        r_enc.inverse(np.ones((3, 1))),
        rtol=0,
        atol=0,
        what="OneHotEncoder.inverse(rows of shape (3, 1)) after fit on a single class",
    )


def test_onehot_unseen_label_raises(student, rng):
    enc = student.beras.OneHotEncoder()
    enc.fit(np.array([1, 3, 5, 3, 1]))
    try:
        enc(np.array([1, 4]))
    except StudentError as error:
        assert_equal(
            error.type_name,
            "ValueError",
            what="the exception OneHotEncoder raises for a label that fit never saw (its class name)",
        )
    else:
        raise AssertionError(
            "OneHotEncoder fitted on [1, 3, 5] was called on [1, 4] and raised nothing; "
            "a label that fit never saw must raise ValueError"
        )
    # the encoder still works after refusing a label
    assert_close(
        enc(np.array([5, 1])),
        np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
        rtol=0,
        atol=0,
        what="OneHotEncoder (fitted on [1, 3, 5]) called on [5, 1] after refusing an unseen label",
    )
