"""Core objects: Tensor/Variable semantics, Weighted, initializers, OneHotEncoder, accuracy and
SequentialModel."""

from __future__ import annotations

import math

import numpy as np
import pytest

import beras
from beras import initializers

# --- Tensor and Variable ------------------------------------------------------------------


def test_tensor_of_tensor_or_variable_is_identity():
    t = beras.Tensor(np.ones((2, 3)))
    v = beras.Variable(np.ones((2, 3)))
    assert beras.Tensor(t) is t
    assert beras.Tensor(v) is v


def test_tensor_views_numpy_data_without_copying():
    a = np.arange(6.0).reshape(2, 3)
    t = beras.Tensor(a)
    assert type(t) is beras.Tensor
    assert t.trainable is True
    assert np.shares_memory(t, a)
    a[0, 0] = 42.0
    assert t[0, 0] == 42.0
    assert t.shape == (2, 3) and t.dtype == a.dtype


def test_tensor_dtype_argument_converts():
    t = beras.Tensor([1, 2, 3], dtype=np.float64)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t, [1.0, 2.0, 3.0])


def test_variable_copies_its_data():
    a = np.arange(4.0)
    v = beras.Variable(a)
    assert isinstance(v, beras.Variable) and isinstance(v, beras.Tensor)
    assert not np.shares_memory(v, a)
    a[:] = -1
    np.testing.assert_array_equal(v, [0.0, 1.0, 2.0, 3.0])
    t = beras.Tensor(np.zeros(3))
    v2 = beras.Variable(t)
    assert v2 is not t and not np.shares_memory(v2, t)


def test_variable_trainable_flag():
    assert beras.Variable(np.zeros(2)).trainable is True
    assert beras.Variable(np.zeros(2), trainable=False).trainable is False


def test_variable_assign_writes_in_place():
    v = beras.Variable(np.zeros((2, 3)))
    address = v.__array_interface__["data"][0]
    result = v.assign(np.arange(6.0).reshape(2, 3))
    assert result is v
    assert v.__array_interface__["data"][0] == address
    np.testing.assert_array_equal(v, np.arange(6.0).reshape(2, 3))


def test_variable_assign_shape_mismatch_names_both_shapes():
    v = beras.Variable(np.zeros((2, 3)))
    with pytest.raises(ValueError) as info:
        v.assign(np.zeros((3, 2)))
    message = str(info.value)
    assert "(2, 3)" in message and "(3, 2)" in message
    np.testing.assert_array_equal(v, np.zeros((2, 3)))


# --- Weighted ------------------------------------------------------------------------------


def test_dense_weights_are_the_same_objects():
    layer = beras.Dense(3, 2)
    assert len(layer.weights) == 2
    assert layer.weights[0] is layer.w and layer.weights[1] is layer.b
    assert layer.w.shape == (3, 2) and layer.b.shape == (2,)
    assert all(isinstance(w, beras.Variable) for w in layer.weights)
    trainable = layer.trainable_variables
    assert len(trainable) == 2 and trainable[0] is layer.w and trainable[1] is layer.b
    assert layer.non_trainable_variables == []
    assert layer.trainable is True


def test_freezing_a_layer_moves_weights_to_non_trainable():
    layer = beras.Dense(3, 2)
    layer.trainable = False
    assert layer.trainable is False
    assert layer.trainable_variables == []
    frozen = layer.non_trainable_variables
    assert len(frozen) == 2 and frozen[0] is layer.w and frozen[1] is layer.b
    layer.trainable = True
    assert [id(w) for w in layer.trainable_variables] == [id(layer.w), id(layer.b)]


def test_model_weights_collect_layer_weights_in_order():
    d1, d2 = beras.Dense(4, 3), beras.Dense(3, 2)
    model = beras.SequentialModel([d1, beras.ReLU(), d2])
    assert [id(w) for w in model.weights] == [id(d1.w), id(d1.b), id(d2.w), id(d2.b)]
    d1.trainable = False
    assert [id(w) for w in model.trainable_variables] == [id(d2.w), id(d2.b)]


@pytest.mark.parametrize(
    "make_layer, make_input",
    [
        (lambda: beras.Dense(3, 2), lambda: beras.Variable(np.ones((4, 3)))),
        (lambda: beras.ReLU(), lambda: beras.Variable(np.ones((4, 3)))),
        (lambda: beras.Flatten(), lambda: beras.Variable(np.ones((2, 2, 2)))),
    ],
)
def test_layer_output_is_a_tensor_not_a_variable(make_layer, make_input):
    out = make_layer()(make_input())
    assert isinstance(out, beras.Tensor)
    assert not isinstance(out, beras.Variable)
    assert not hasattr(out, "assign")


def test_add_of_two_variables_is_a_plain_tensor():
    a, b = beras.Variable(np.ones(3)), beras.Variable(np.full(3, 2.0))
    out = beras.Add()(a, b)
    assert type(out) is beras.Tensor
    np.testing.assert_array_equal(out, [3.0, 3.0, 3.0])


# --- initializers --------------------------------------------------------------------------

FAN_IN, FAN_OUT = 400, 600


@pytest.mark.parametrize("name", initializers.INITIALIZERS)
def test_initializer_shapes(name):
    layer = beras.Dense(7, 5, initializer=name)
    assert layer.w.shape == (7, 5)
    assert layer.b.shape == (5,)
    np.testing.assert_array_equal(layer.b, np.zeros(5))
    conv = beras.Conv2D(4, 3, input_channels=2, initializer=name)
    assert conv.kernel.shape == (3, 3, 2, 4)


@pytest.mark.parametrize(
    "name, kind, scale",
    [
        ("normal", "normal", 0.05),
        ("xavier", "normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
        ("xavier_uniform", "uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
        ("kaiming", "normal", math.sqrt(2 / FAN_IN)),
        ("kaiming_uniform", "uniform", math.sqrt(6 / FAN_IN)),
    ],
)
def test_initializer_statistics(name, kind, scale):
    beras.set_seed(0)
    w = beras.to_numpy(beras.Dense(FAN_IN, FAN_OUT, initializer=name).w).astype(np.float64)
    assert abs(w.mean()) < 0.01 * scale
    if kind == "normal":
        assert w.std() == pytest.approx(scale, rel=0.01)
        assert np.abs(w).max() > 3.5 * scale  # tails: not a uniform or a truncated draw
    else:  # scale is the limit
        assert np.abs(w).max() <= scale
        assert np.abs(w).max() > 0.999 * scale
        assert w.std() == pytest.approx(scale / math.sqrt(3), rel=0.01)


def test_zero_initializer_is_all_zeros():
    np.testing.assert_array_equal(beras.Dense(30, 20, initializer="zero").w, np.zeros((30, 20)))


def test_conv_kernel_uses_receptive_field_fans():
    beras.set_seed(0)
    kernel = beras.to_numpy(beras.Conv2D(64, 5, input_channels=32, initializer="kaiming").kernel)
    assert kernel.std() == pytest.approx(math.sqrt(2 / (5 * 5 * 32)), rel=0.02)


@pytest.mark.parametrize(
    "make",
    [lambda: beras.Dense(2, 3, initializer="bogus"),
     lambda: beras.Conv2D(2, 3, input_channels=1, initializer="bogus")]
)
def test_unknown_initializer_raises(make):
    with pytest.raises(ValueError, match="Received") as info:
        make()
    assert "bogus" in str(info.value)


def test_set_seed_makes_initialization_repeat():
    beras.set_seed(7)
    first = beras.Dense(6, 4, initializer="xavier").w.copy()
    beras.set_seed(7)
    second = beras.Dense(6, 4, initializer="xavier").w.copy()
    beras.set_seed(8)
    third = beras.Dense(6, 4, initializer="xavier").w.copy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, third)


# --- OneHotEncoder -------------------------------------------------------------------------


def test_onehot_round_trip_with_non_contiguous_labels():
    labels = np.array([3, 7, 3, 10])
    encoder = beras.OneHotEncoder().fit(labels)
    np.testing.assert_array_equal(encoder.classes, [3, 7, 10])
    encoded = beras.to_numpy(encoder(labels))
    np.testing.assert_array_equal(encoded, [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(encoder.inverse(encoded), labels)
    probs = np.array([[0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_array_equal(encoder.inverse(probs), [7, 10])


def test_onehot_fits_on_first_call_and_works_for_strings():
    encoder = beras.OneHotEncoder()
    encoded = beras.to_numpy(encoder(np.array(["cat", "dog", "ant", "dog"])))
    assert encoded.shape == (4, 3)
    np.testing.assert_array_equal(encoded.argmax(axis=1), [1, 2, 0, 2])
    np.testing.assert_array_equal(encoder.inverse(encoded), ["cat", "dog", "ant", "dog"])


def test_onehot_unseen_label_raises():
    encoder = beras.OneHotEncoder().fit(np.array([3, 7, 10]))
    for unseen in (5, 11, 0):
        with pytest.raises(ValueError, match=str(unseen)):
            encoder(np.array([3, unseen]))


def test_onehot_rejects_2d_input_and_inverse_before_fit():
    with pytest.raises(ValueError, match="1-D"):
        beras.OneHotEncoder()(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="fit"):
        beras.OneHotEncoder().inverse(np.eye(3))


# --- CategoricalAccuracy -------------------------------------------------------------------


def test_categorical_accuracy_hand_made_example():
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    labels = np.eye(3)[[1, 1, 2, 0, 0]]  # hits: yes, no, yes, yes, no
    assert float(beras.CategoricalAccuracy()(probs, labels)) == pytest.approx(0.6)
    assert float(beras.CategoricalAccuracy()(labels, labels)) == 1.0


def test_categorical_accuracy_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        beras.CategoricalAccuracy()(np.zeros((4, 3)), np.zeros((4, 2)))


# --- SequentialModel -----------------------------------------------------------------------


def blobs(n=120, seed=0):
    """Three well-separated Gaussian blobs in 2-D, one-hot labels."""
    gen = np.random.default_rng(seed)
    centers = np.array([[3.0, 0.0], [-3.0, 3.0], [0.0, -3.0]])
    labels = gen.integers(3, size=n)
    x = centers[labels] + gen.normal(0, 0.5, size=(n, 2))
    return x.astype(np.float32), np.eye(3, dtype=np.float32)[labels]


def make_model(lr=0.05):
    model = beras.SequentialModel([beras.Dense(2, 8, "xavier"), beras.Tanh(), beras.Dense(8, 3, "xavier"),
                                   beras.Softmax()])
    model.compile(beras.Adam(lr), beras.CategoricalCrossEntropy(), beras.CategoricalAccuracy())
    return model


def test_fit_returns_per_epoch_history_and_lowers_loss():
    beras.set_seed(0)
    x, y = blobs()
    model = make_model()
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=False)
    assert set(history) == {"loss", "acc"}
    assert len(history["loss"]) == 5 and len(history["acc"]) == 5
    assert all(isinstance(v, float) for v in history["loss"] + history["acc"])
    assert all(0.0 <= a <= 1.0 for a in history["acc"])
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["acc"][-1] >= 0.95
    scores = model.evaluate(x, y)
    assert set(scores) == {"loss", "acc"}
    assert scores["acc"] >= 0.95


def test_fit_is_repeatable_with_a_seed():
    x, y = blobs()
    histories = []
    for _ in range(2):
        beras.set_seed(3)
        histories.append(make_model().fit(x, y, epochs=2, batch_size=16, verbose=False))
    assert histories[0] == histories[1]


def test_evaluate_and_predict_shapes():
    beras.set_seed(0)
    x, y = blobs(n=50)
    model = make_model()
    preds = model.predict(x, batch_size=16)
    assert isinstance(preds, beras.Tensor)
    assert preds.shape == (50, 3)
    np.testing.assert_allclose(beras.to_numpy(preds).sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(beras.to_numpy(preds), beras.to_numpy(model(x)), rtol=1e-6)
    before = [w.copy() for w in model.weights]
    scores = model.evaluate(x, y, batch_size=7)
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, new)  # evaluate does not train
    expected_acc = float(np.mean(beras.to_numpy(preds).argmax(1) == y.argmax(1)))
    assert scores["acc"] == pytest.approx(expected_acc)


def test_fit_prints_progress_when_verbose(capsys):
    beras.set_seed(0)
    x, y = blobs(n=20)
    make_model().fit(x, y, epochs=2, batch_size=8, verbose=True)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out


def test_fit_or_evaluate_before_compile_raises():
    x, y = blobs(n=10)
    model = beras.SequentialModel([beras.Dense(2, 3), beras.Softmax()])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, epochs=1, batch_size=4, verbose=False)
    with pytest.raises(RuntimeError, match="compile"):
        model.evaluate(x, y)


def test_mismatched_lengths_raise():
    x, y = blobs(n=10)
    model = make_model()
    with pytest.raises(ValueError, match="10 and 9"):
        model.fit(x, y[:9], epochs=1, batch_size=4, verbose=False)
    with pytest.raises(ValueError, match="same number"):
        model.evaluate(x[:8], y)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, epochs=1, batch_size=0, verbose=False)
