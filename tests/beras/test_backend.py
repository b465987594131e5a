"""beras.backend: choosing numpy/CuPy, the BERAS_BACKEND variable, host/device moves and floatx."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import numpy as np
import pytest

import beras
from beras import backend


@pytest.fixture
def restore_backend():
    previous = backend.get_backend()
    try:
        yield
    finally:
        backend.set_backend(previous)


def run_python(code, tmp_path, **env_vars):
    env = {k: v for k, v in os.environ.items() if k != backend.ENV_VAR}
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_set_backend_numpy(restore_backend):
    backend.set_backend("numpy")
    assert backend.get_backend() == "numpy"
    assert backend.xp() is np
    assert backend.is_gpu() is False
    beras.set_backend(" NumPy ")  # case and surrounding spaces are forgiven
    assert beras.get_backend() == "numpy"


@pytest.mark.parametrize("name", ["bogus", "torch", ""])
def test_unknown_backend_lists_allowed_names(restore_backend, name):
    before = backend.get_backend()
    with pytest.raises(ValueError) as info:
        backend.set_backend(name)
    message = str(info.value)
    assert "numpy" in message and "cupy" in message
    assert "Received" in message and repr(name) in message
    assert not isinstance(info.value, backend.BackendError)
    assert backend.get_backend() == before  # a failed switch changes nothing


def test_cupy_without_gpu_raises_backend_error(restore_backend):
    if backend.gpu_available():
        pytest.skip("a GPU is available: the no-GPU error cannot be provoked here")
    before = backend.get_backend()
    with pytest.raises(backend.BackendError, match="(?i)cupy") as info:
        backend.set_backend("cupy")
    assert "GPU" in str(info.value) or "pip install" in str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert backend.get_backend() == before


def test_cupy_installed_but_no_device_raises_backend_error(restore_backend, monkeypatch):
    def no_driver():
        raise RuntimeError("cudaErrorNoDevice")

    fake = types.SimpleNamespace(
        cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert backend.gpu_available() is False
    with pytest.raises(backend.BackendError, match="CUDA GPU"):
        backend.set_backend("cupy")
    fake.cuda.runtime.getDeviceCount = lambda: 0
    with pytest.raises(backend.BackendError, match="none is visible"):
        backend.set_backend("cupy")


def test_env_var_selects_numpy_on_first_use(tmp_path):
    code = "import beras; print(beras.get_backend()); print(beras.backend.xp().__name__)"
    for value in ("numpy", "NumPy", ""):
        result = run_python(code, tmp_path, BERAS_BACKEND=value)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["numpy", "numpy"]
    result = run_python(code, tmp_path)  # unset: numpy
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["numpy", "numpy"]


def test_env_var_is_read_on_first_use_not_at_import(tmp_path):
    code = (
        "import os, beras\n"
        "os.environ['BERAS_BACKEND'] = 'bogus'\n"
        "beras.get_backend()\n"
    )
    result = run_python(code, tmp_path, BERAS_BACKEND="numpy")
    assert result.returncode != 0
    assert "bogus" in result.stderr


def test_bogus_env_var_fails_with_clear_message(tmp_path):
    result = run_python("import beras; print(beras.get_backend())", tmp_path, BERAS_BACKEND="bogus")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "ValueError" in result.stderr
    assert "Unknown Beras backend" in result.stderr
    assert "'bogus'" in result.stderr and "numpy" in result.stderr and "cupy" in result.stderr


def test_to_numpy_to_device_round_trip(xp):
    host = np.arange(12, dtype=np.float32).reshape(3, 4)
    device = backend.to_device(host)
    assert isinstance(device, xp.ndarray)
    back = backend.to_numpy(device)
    assert type(back) is np.ndarray
    np.testing.assert_array_equal(back, host)
    tensor = beras.Tensor(host)
    assert isinstance(tensor, beras.Tensor)
    plain = backend.to_numpy(tensor)
    assert type(plain) is np.ndarray
    np.testing.assert_array_equal(plain, host)
    np.testing.assert_array_equal(backend.to_numpy([1, 2, 3]), [1, 2, 3])


def test_to_numpy_of_tensor_views_on_cpu(restore_backend):
    backend.set_backend("numpy")
    t = beras.Tensor(np.zeros(3))
    view = backend.to_numpy(t)
    view[0] = 5
    assert t[0] == 5


def test_set_floatx_float64_makes_dense_weights_float64(xp):
    previous = backend.floatx()
    try:
        backend.set_floatx("float64")
        assert backend.floatx() == "float64"
        layer = beras.Dense(3, 2)
        assert layer.w.dtype == np.float64 and layer.b.dtype == np.float64
        conv = beras.Conv2D(2, 3, input_channels=1)
        assert conv.kernel.dtype == np.float64
        beras.set_floatx(np.float32)
        assert beras.Dense(3, 2).w.dtype == np.float32
    finally:
        backend.set_floatx(previous)


@pytest.mark.parametrize("bad", ["int32", "uint8", "complex64", "bool"])
def test_set_floatx_rejects_non_float(bad):
    previous = backend.floatx()
    with pytest.raises(ValueError, match="Received"):
        backend.set_floatx(bad)
    assert backend.floatx() == previous


def test_default_floatx_is_float32():
    assert backend.floatx() == "float32"
    assert beras.Dense(2, 2).w.dtype == np.float32


def test_dense_relu_forward_on_each_backend(xp, float64):
    gen = np.random.default_rng(0)
    x_host = gen.normal(size=(4, 5))
    w_host, b_host = gen.normal(size=(5, 3)), gen.normal(size=3)
    layer = beras.Dense(5, 3)
    layer.w.assign(w_host)
    layer.b.assign(b_host)
    assert isinstance(layer.w, xp.ndarray) and isinstance(layer.w, beras.Variable)
    out = beras.ReLU()(layer(beras.Tensor(x_host)))
    assert isinstance(out, beras.Tensor) and isinstance(out, xp.ndarray)
    expected = np.maximum(x_host @ w_host + b_host, 0)
    assert (expected == 0).any() and (expected > 0).any()
    np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=1e-12)


def test_gradient_tape_on_each_backend(xp, float64):
    layer, mse = beras.Dense(3, 2), beras.MeanSquaredError()
    x = beras.Tensor(np.ones((4, 3)))
    y = beras.Tensor(np.zeros((4, 2)))
    layer.w.assign(np.full((3, 2), 0.5))
    with beras.GradientTape() as tape:
        loss = mse(layer(x), y)
    g_w, g_b = tape.gradient(loss, layer.weights)
    # prediction is 1.5 everywhere: dL/dpred = 2 * 1.5 / 8; dL/dw = x.T @ that, dL/db = its column sums
    np.testing.assert_allclose(backend.to_numpy(g_b), [1.5, 1.5])
    np.testing.assert_allclose(backend.to_numpy(g_w), np.full((3, 2), 1.5))
    assert isinstance(g_w, xp.ndarray)
