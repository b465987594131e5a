"""beras on the CuPy stand-in: the stand-in is strict, and the digits CNN keeps its data on the device."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

import beras
from beras import backend
from tests.cupy_standin import ndarray as StandinArray
from tests.cupy_standin.plug import HERE, as_cupy, beras_on_standin

# The only device-to-host copies a training step may make: Model.batch_step's float(loss) and
# float(acc), the figures fit() adds up for the progress bar and the history.
ALLOWED_STEP_TRANSFERS = [("float", "batch_step"), ("float", "batch_step")]


@pytest.fixture
def cp():
    """beras on the stand-in, its ledger empty."""
    with beras_on_standin() as module:
        module.ledger.reset()
        yield module


# --- the stand-in is strict --------------------------------------------------------------------------
def test_implicit_host_conversion_raises_type_error(cp):
    device = cp.asarray(np.arange(6.0).reshape(2, 3))
    for convert in (np.asarray, np.array, lambda a: np.testing.assert_allclose(a, 0)):
        with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
            convert(device)
    assert cp.ledger.to_host == []


@pytest.mark.parametrize("mix", [
    lambda d, h: d + h, lambda d, h: h + d, lambda d, h: d * h, lambda d, h: h @ d.T, lambda d, h: d < h,
    lambda d, h: np.maximum(h, d),
])
def test_a_host_array_in_a_device_operation_raises_type_error(cp, mix):
    device, host = cp.ones((2, 3)), np.ones((2, 3))
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        mix(device, host)


def test_cupy_functions_refuse_host_arrays_but_take_scalars(cp):
    device = cp.ones(3, dtype=np.float32)
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.maximum(device, np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.concatenate([device, np.ones(3)])
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        device[...] = np.zeros(3)  # CuPy fills a basic-indexed target from scalars only
    assert cp.ledger.to_host == []
    assert isinstance(cp.maximum(device, 0.5), cp.ndarray) and (device * np.float32(2)).dtype == np.float32


def test_host_transfers_are_counted_with_their_call_site(cp):
    device = cp.asarray(np.arange(4.0))
    assert [t.kind for t in cp.ledger.to_device] == ["asarray"]
    host = device.get()
    assert type(host) is np.ndarray and host.tolist() == [0.0, 1.0, 2.0, 3.0]
    cp.asnumpy(device)
    total = float(device.sum())  # a reduction is a 0-d device array; float() copies it
    assert total == 6.0 and isinstance(device.sum(), cp.ndarray) and isinstance(device[1], cp.ndarray)
    assert [t.kind for t in cp.ledger.to_host] == ["get", "asnumpy", "float"]
    assert all(t.site.startswith(__file__) for t in cp.ledger.to_host), cp.ledger.to_host
    cp.ledger.reset()
    assert cp.ledger.to_host == [] and cp.ledger.to_device == []


def test_one_device_and_the_cupy_import_is_the_standin():
    with as_cupy() as module:
        import cupy

        assert cupy is module and cupy.cuda.runtime.getDeviceCount() == 1
        assert backend.gpu_available() is True
        assert type(cupy.zeros(1)).__module__ == "cupy"  # as code that checks the module sees it


def test_subclass_view_casting_and_new_from_template_as_cupy_documents(cp):
    finalized = []

    class Tagged(cp.ndarray):
        def __array_finalize__(self, obj):
            finalized.append(obj)
            self.tag = getattr(obj, "tag", "fresh")

    base = cp.arange(6, dtype=np.float32)
    cast = base.view(Tagged)  # view casting: __array_finalize__(the source)
    assert type(cast) is Tagged and finalized[-1] is base and cast.tag == "fresh"
    cast.tag = "kept"
    assert type(cast[1:]) is Tagged and cast[1:].tag == "kept"  # new from template: slicing
    assert type(cast.reshape(2, 3)) is Tagged and cast.reshape(2, 3).tag == "kept"  # ...and methods
    assert type(cast + 1) is Tagged and type(1 + cast) is Tagged  # ufunc results take the subclass
    assert type(cast.view(cp.ndarray)) is cp.ndarray
    cast[0] = 7  # a view: the memory is shared
    assert float(base[0]) == 7.0


def test_beras_tensor_on_the_standin_is_a_device_twin(cp):
    tensor = beras.Tensor(np.ones((2, 2), dtype=np.float32))
    variable = beras.Variable(np.zeros(3, dtype=np.float32), trainable=False)
    assert isinstance(tensor, beras.Tensor) and isinstance(tensor, cp.ndarray)
    assert isinstance(variable, beras.Variable) and not variable.trainable
    assert isinstance(tensor[0], beras.Tensor) and tensor[0].trainable  # the flag follows views
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(tensor)


# --- beras' digits CNN on the stand-in --------------------------------------------------------------
def _digits_cnn():
    conv = beras.Conv2D(8, 3, padding="same", input_channels=1, initializer="kaiming")
    model = beras.SequentialModel([conv, beras.ReLU(), beras.MaxPool2D(2), beras.Flatten(),
                                   beras.Dense(8 * 4 * 4, 10, initializer="xavier"), beras.Softmax()])
    model.compile(beras.Adam(0.005), beras.CategoricalCrossEntropy(), beras.CategoricalAccuracy())
    return model


@pytest.fixture(scope="module")
def digits():
    x_train, y_train, _, _ = beras.data.load_digits()
    return x_train[:64], y_train[:64]


def test_a_digits_cnn_training_step_copies_only_the_loss_and_accuracy_to_the_host(cp, digits):
    beras.set_seed(3)
    model = _digits_cnn()
    x, y = backend.to_device(digits[0]), backend.to_device(digits[1])
    before = [backend.to_numpy(w) for w in model.weights]
    cp.ledger.reset()
    stats = model.batch_step(x[:32], y[:32], training=True)
    steps = [(t.kind, t.site.rpartition("(")[2].rstrip(")")) for t in cp.ledger.to_host]
    assert steps == ALLOWED_STEP_TRANSFERS, cp.ledger.to_host
    assert all("beras/model.py" in t.site for t in cp.ledger.to_host)
    assert cp.ledger.to_device == []  # the batch was on the device already
    assert np.isfinite(stats["loss"]) and 0 <= stats["acc"] <= 1
    assert any(not np.allclose(b, backend.to_numpy(w)) for b, w in zip(before, model.weights))


def test_fit_copies_each_batch_index_in_and_two_figures_out_per_step(cp, digits):
    beras.set_seed(3)
    model = _digits_cnn()
    cp.ledger.reset()
    model.fit(digits[0], digits[1], epochs=1, batch_size=32, verbose=False)
    # in: x and y once, then one index array per step; out: loss and accuracy per step
    assert [t.kind for t in cp.ledger.to_device] == ["asarray", "asarray", "asarray", "asarray"]
    assert [t.kind for t in cp.ledger.to_host] == ["float"] * 4


def test_a_float32_run_creates_no_float64_array(cp, digits):
    assert backend.floatx() == "float32"
    beras.set_seed(3)
    model = _digits_cnn()
    x, y = backend.to_device(digits[0]), backend.to_device(digits[1])
    cp.ledger.reset()
    model.batch_step(x[:32], y[:32], training=True)
    model.batch_step(x[32:], y[32:], training=False)
    assert cp.ledger.dtypes["float32"] > 0
    assert cp.ledger.dtypes["float64"] == 0, cp.ledger.float64_sites


_LAYERS = {
    "Add": lambda: lambda s: beras.Add()(s, s),
    "LeakyReLU": lambda: beras.LeakyReLU(),
    "Dropout": lambda: beras.Dropout(0.5),
    "Conv2D": lambda: beras.Conv2D(3, 3, input_channels=2),
    "MaxPool2D": lambda: beras.MaxPool2D(2),
    "Sigmoid+Tanh+Softmax": lambda: lambda s: beras.Softmax()(beras.Tanh()(beras.Sigmoid()(s))),
}


@pytest.mark.parametrize("name", list(_LAYERS))
def test_a_layers_forward_and_gradient_in_float32_create_no_float64(cp, name):
    gen = np.random.default_rng(0)
    shape = (2, 6, 6, 2) if name in ("Conv2D", "MaxPool2D") else (4, 6)
    source = beras.Variable(gen.normal(size=shape).astype(np.float32))
    layer = _LAYERS[name]()
    cp.ledger.reset()
    with beras.GradientTape() as tape:
        out = beras.Flatten()(layer(source))
        loss = beras.MeanSquaredError()(out, beras.Tensor(cp.zeros(out.shape, dtype=np.float32)))
    (grad,) = tape.gradient(loss, [source])
    assert grad.dtype == np.float32
    assert cp.ledger.dtypes["float64"] == 0, cp.ledger.float64_sites
    assert cp.ledger.to_host == []


def test_accuracy_keeps_the_float_dtype_of_its_inputs(xp):
    probs = beras.to_device(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], dtype=np.float32))
    labels = beras.to_device(np.array([[1, 0], [1, 0], [1, 0]], dtype=np.float32))
    accuracy = beras.CategoricalAccuracy()(probs, labels)
    assert accuracy.dtype == np.float32  # was float64: the mean of booleans
    assert beras.to_numpy(accuracy) == pytest.approx(2 / 3)


def test_tensor_twins_follow_the_cupy_module_in_use(monkeypatch):
    """A run with the stand-in and the real CuPy (a GPU machine runs both) builds one twin for each."""
    spec = importlib.util.spec_from_file_location("second_cupy", HERE / "__init__.py",
                                                  submodule_search_locations=[str(HERE)])
    second = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "second_cupy", second)
    spec.loader.exec_module(second)
    assert second.ndarray is not StandinArray
    with beras_on_standin():
        first_tensor = beras.Tensor(np.ones(2, dtype=np.float32))
    with as_cupy():  # it restores sys.modules["cupy"] on leaving (a monkeypatch would put the stand-in back)
        sys.modules["cupy"] = second
        backend.set_backend("cupy")
        try:
            tensor = beras.Tensor(np.ones(2, dtype=np.float32))
        finally:
            backend.set_backend("numpy")
    assert isinstance(first_tensor, StandinArray)
    assert isinstance(tensor, second.ndarray) and isinstance(tensor, beras.Tensor)
