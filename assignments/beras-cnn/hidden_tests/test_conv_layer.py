"""Conv2D against the reference: forward, dL/dx, dL/dkernel and dL/dbias, local gradients, dilation.

Shapes are tiny on purpose (a loop-heavy Conv2D is still quick on them); the cases cover
kernel sizes 1-5, strides 1-3, VALID and SAME (odd total padding included), several input
channels and filters, non-square images and kernels, and a layer without bias.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from grader.harness import assert_close, fetch

# Both libraries compute in float64 here; the tolerances still admit float32 rounding, so that a
# layer computing in float32 loses no points over precision (a wrong formula errs by O(1)).
RTOL, ATOL = 1e-5, 1e-5


class Case(NamedTuple):
    batch: int
    height: int
    width: int
    channels: int
    filters: int
    kernel: object
    strides: object
    padding: str
    use_bias: bool = True
    hint: str = ""

    @property
    def input_shape(self) -> tuple:
        return (self.batch, self.height, self.width, self.channels)


ODD_SAME = " (SAME with an odd total padding: the extra row/column goes at the bottom/right)"
DROPPED = " (VALID with a stride that leaves the last input rows/columns unread: they get no gradient)"

CASES = {
    "k1-valid": Case(2, 5, 5, 1, 1, 1, 1, "valid"),
    "k2-valid-2ch": Case(2, 6, 6, 2, 3, 2, 1, "valid"),
    "k3-same": Case(1, 7, 7, 3, 2, 3, 1, "same"),
    "k4-same-oddpad": Case(2, 6, 6, 2, 2, 4, 1, "same", hint=ODD_SAME),
    "k5-same": Case(1, 9, 9, 1, 2, 5, 1, "same"),
    "k3-s2-valid": Case(2, 7, 7, 2, 3, 3, 2, "valid"),
    "k3-s2-valid-dropped": Case(1, 8, 8, 1, 2, 3, 2, "valid", hint=DROPPED),
    "k3-s2-same-oddpad": Case(2, 6, 6, 3, 2, 3, 2, "same", hint=ODD_SAME),
    "k3-s3-valid": Case(1, 8, 8, 2, 2, 3, 3, "valid", hint=DROPPED),
    "k2-s3-valid-gaps": Case(2, 7, 7, 2, 2, 2, 3, "valid",
                             hint=" (stride larger than the kernel: some inputs are never read)"),
    "k3-s3-same-nonsquare": Case(2, 7, 8, 2, 4, 3, 3, "same", hint=ODD_SAME),
    "k2x3-same-nonsquare": Case(2, 5, 8, 3, 2, (2, 3), 1, "same", hint=ODD_SAME),
    "k5x2-s2x1-valid": Case(1, 9, 6, 2, 3, (5, 2), (2, 1), "valid", hint=" (non-square kernel and strides)"),
    "k4x2-s3x2-same-nobias": Case(2, 8, 7, 1, 3, (4, 2), (3, 2), "same", use_bias=False, hint=ODD_SAME),
    "k3-same-4ch-nobias": Case(3, 4, 4, 4, 4, 3, 1, "same", use_bias=False),
    "k5-s2-same-bigpad": Case(2, 5, 5, 1, 1, 5, 2, "same"),
}

EDGE_CASES = {
    "batch1-k1": Case(1, 3, 4, 2, 3, 1, 1, "valid", hint=" (a 1x1 kernel mixes channels pixel by pixel)"),
    "kernel-is-image": Case(2, 4, 5, 2, 3, (4, 5), 1, "valid",
                            hint=" (the kernel covers the whole image: one output pixel)"),
    "kernel-is-image-batch1": Case(1, 3, 3, 1, 1, 3, 1, "valid",
                                   hint=" (the kernel covers the whole image: one output pixel)"),
    "pixel-image-same": Case(2, 1, 1, 2, 2, 3, 1, "same",
                             hint=" (a 1x1 image with SAME padding: only the kernel's centre sees it)"),
    "stride-beyond-image": Case(1, 3, 3, 1, 2, 1, 4, "same",
                                hint=" (a stride larger than the image: one output pixel)"),
}


def _layers(twins, case: Case):
    return twins.conv(case.filters, case.kernel, case.channels, strides=case.strides, padding=case.padding,
                      use_bias=case.use_bias)


def _name(conv_name, case: Case) -> str:
    return (f"{conv_name(case.filters, case.kernel, case.strides, case.padding, case.use_bias)} "
            f"on input {case.input_shape}")


def _run_forward(twins, case: Case):
    """Build both layers, run both forwards; return the layers and the reference output (host)."""
    s, r = _layers(twins, case)
    xs, xr = twins.tensors(twins.normal(case.input_shape))
    out_s = s(xs)
    out_r = fetch(r(xr))
    return s, r, out_s, out_r


# ---- forward -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_forward_matches(twins, conv_name, case):
    _, _, out_s, out_r = _run_forward(twins, case)
    assert_close(out_s, out_r, rtol=RTOL, atol=ATOL, what=f"{_name(conv_name, case)}{case.hint}: forward")


@pytest.mark.parametrize("case", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_forward_edge_case(twins, conv_name, case):
    _, _, out_s, out_r = _run_forward(twins, case)
    assert_close(out_s, out_r, rtol=RTOL, atol=ATOL, what=f"{_name(conv_name, case)}{case.hint}: forward")


# ---- dL/dx -------------------------------------------------------------------------------------------------

def _upstream(twins, out_r: np.ndarray) -> tuple:
    return twins.tensors(twins.normal(out_r.shape))


@pytest.mark.parametrize("case", {**CASES, **EDGE_CASES}.values(), ids={**CASES, **EDGE_CASES}.keys())
def test_input_gradient(twins, conv_name, case):
    s, r, _, out_r = _run_forward(twins, case)
    js, jr = _upstream(twins, out_r)
    assert_close(s.compose_input_gradients(js), r.compose_input_gradients(jr), rtol=RTOL, atol=ATOL,
                 what=f"{_name(conv_name, case)}{case.hint}: compose_input_gradients(J)")


def test_input_gradient_finite_differences(twins, student, conv_name):
    """dL/dx for L = sum(J * conv(x)), checked by central differences of the student's own forward.

    All the probes x +- eps * e_i go through the layer as one batch (the layer treats examples
    independently), so the check costs a single forward call. Conv2D is linear in x, so a large
    step is exact and keeps float32 rounding out of the check. The forward itself is checked
    against the reference first: a constant forward with a zero gradient agrees with itself.
    """
    case = Case(1, 5, 4, 2, 2, (3, 2), (2, 1), "same")
    s, r = _layers(twins, case)
    x = twins.normal(case.input_shape)
    out = fetch(s(student.beras.Tensor(x)))
    assert_close(out, fetch(r(twins.reference.beras.Tensor(x))), rtol=RTOL, atol=ATOL,
                 what=f"{_name(conv_name, case)}: forward (the finite differences below are of this forward)")
    J = twins.normal(out.shape)
    analytic = fetch(s.compose_input_gradients(student.beras.Tensor(J)))
    assert isinstance(analytic, (list, tuple)) and len(analytic) == 1, (
        "Conv2D.compose_input_gradients(J) must return a list with one array, [dL/dx]"
    )
    # the layer is linear in x: central differences are exact for any step, and a big one beats rounding
    eps = 0.5
    probes = np.repeat(x, 2 * x.size, axis=0)
    probes.reshape(x.size, 2, x.size)[np.arange(x.size), 0, np.arange(x.size)] += eps
    probes.reshape(x.size, 2, x.size)[np.arange(x.size), 1, np.arange(x.size)] -= eps
    shifted = fetch(s(student.beras.Tensor(probes)))
    assert np.shape(shifted) == (len(probes),) + out.shape[1:], (
        f"{_name(conv_name, case)}: a batch of {len(probes)} copies of the input gave an output of shape "
        f"{np.shape(shifted)}; expected one output per example"
    )
    losses = np.sum(J * shifted, axis=(1, 2, 3)).reshape(x.size, 2)
    numeric = ((losses[:, 0] - losses[:, 1]) / (2 * eps)).reshape(x.shape)
    assert_close(analytic[0], numeric, rtol=1e-4, atol=1e-5,
                 what=f"{_name(conv_name, case)}, against finite differences of your own forward "
                      "(L = sum(J * output)): compose_input_gradients(J)[0]")


def test_local_input_gradient_is_kernel(twins, conv_name, leading_ones_dropped):
    """[kernel]; extra leading axes of length 1 are accepted."""
    case = Case(2, 5, 5, 2, 3, (3, 2), 1, "valid")
    s, r, _, _ = _run_forward(twins, case)
    want = [fetch(r.kernel)]
    assert_close(leading_ones_dropped(s.get_input_gradients(), want), want, rtol=0, atol=0,
                 what=f"{_name(conv_name, case)} (documented as [kernel]): get_input_gradients()")


# ---- dL/dkernel, dL/dbias ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", {**CASES, **EDGE_CASES}.values(), ids={**CASES, **EDGE_CASES}.keys())
def test_weight_gradients(twins, conv_name, case):
    s, r, _, out_r = _run_forward(twins, case)
    js, jr = _upstream(twins, out_r)
    names = "[dL/dkernel, dL/dbias]" if case.use_bias else "[dL/dkernel] (no bias)"
    assert_close(s.compose_weight_gradients(js), r.compose_weight_gradients(jr), rtol=RTOL, atol=ATOL,
                 what=f"{_name(conv_name, case)}{case.hint}, returning {names}: compose_weight_gradients(J)")


AFTER = ["k3-s2-same-oddpad", "k4x2-s3x2-same-nobias", "k2-valid-2ch"]


@pytest.mark.parametrize("key", AFTER)
def test_weight_gradients_after_input_gradients(twins, conv_name, key):
    """The tape's order: dL/dx first, then the weights with the same J; then a new J must not reuse the old
    one."""
    case = CASES[key]
    s, r, _, out_r = _run_forward(twins, case)
    js, jr = _upstream(twins, out_r)
    s.compose_input_gradients(js)
    r.compose_input_gradients(jr)
    name = _name(conv_name, case)
    assert_close(s.compose_weight_gradients(js), r.compose_weight_gradients(jr), rtol=RTOL, atol=ATOL,
                 what=f"{name}, right after compose_input_gradients(J): compose_weight_gradients(J)")
    js2, jr2 = _upstream(twins, out_r)
    s.compose_input_gradients(js)
    r.compose_input_gradients(jr)
    assert_close(s.compose_weight_gradients(js2), r.compose_weight_gradients(jr2), rtol=RTOL, atol=ATOL,
                 what=f"{name}, after compose_input_gradients(J1) with a different J1 (a cached result "
                      "must not be reused for another J): compose_weight_gradients(J2)")


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "nobias"])
def test_local_weight_gradients(twins, conv_name, use_bias, leading_ones_dropped):
    """[input, ones like the bias]; extra leading axes of length 1 (a (1, filters) bias row) are accepted."""
    case = Case(2, 4, 5, 3, 2, 2, 1, "same", use_bias=use_bias)
    s, r, _, _ = _run_forward(twins, case)
    documented = "[input, ones like the bias]" if use_bias else "[input] (no bias)"
    want = fetch(r.get_weight_gradients())
    assert_close(leading_ones_dropped(s.get_weight_gradients(), want), want, rtol=0, atol=0,
                 what=f"{_name(conv_name, case)} (documented as {documented}): get_weight_gradients()")


# ---- dilation ----------------------------------------------------------------------------------------------

DILATED = {
    "k3-d2-valid": (Case(2, 7, 7, 2, 2, 3, 1, "valid"), 2),
    "k2x3-d2x1-same": (Case(1, 8, 7, 1, 3, (2, 3), 1, "same"), (2, 1)),
    "k2-d2-s2-same-oddpad": (Case(2, 6, 6, 2, 2, 2, 2, "same", hint=ODD_SAME), 2),
}


@pytest.mark.parametrize("case, dilation", DILATED.values(), ids=DILATED.keys())
def test_dilation(twins, conv_name, case, dilation):
    s, r = twins.conv(case.filters, case.kernel, case.channels, strides=case.strides, padding=case.padding,
                      dilation_rate=dilation)
    xs, xr = twins.tensors(twins.normal(case.input_shape))
    name = (f"{conv_name(case.filters, case.kernel, case.strides, case.padding, dilation=dilation)} "
            f"on input {case.input_shape}")
    out_s, out_r = s(xs), fetch(r(xr))
    assert_close(out_s, out_r, rtol=RTOL, atol=ATOL,
                 what=f"{name} (kernel tap (i, j) reads input row p*s_h + i*d_h){case.hint}: forward")
    js, jr = _upstream(twins, out_r)
    assert_close(s.compose_input_gradients(js), r.compose_input_gradients(jr), rtol=RTOL, atol=ATOL,
                 what=f"{name}: compose_input_gradients(J)")
    assert_close(s.compose_weight_gradients(js), r.compose_weight_gradients(jr), rtol=RTOL, atol=ATOL,
                 what=f"{name}: compose_weight_gradients(J)")
