"""Conv2D speed: the student's forward + backward against the reference's on the same realistic batch.

Both layers and all inputs are built once; each repeat calls the student's layer through
handles to objects that already live on the student side, so no data crosses per repeat.
A repeat ends with ``to_numpy`` of the kernel gradient, which on CuPy waits for the GPU.
The student's time is taken less the cost of the repeat's round trips to the student
process (measured with a call that does nothing), which is the harness's, not theirs.
The score is the ratio of the best times; up to MAX_RATIO passes. The result must also be
right: a fast but wrong Conv2D earns no speed points.
"""

from __future__ import annotations

import time

import numpy as np

from grader.harness import assert_close, fetch, note

MAX_RATIO = 10.0
REPEATS = 3
HOPELESS_S = 3.0  # a first student run this slow, and over HOPELESS_RATIO, is not repeated
HOPELESS_RATIO = 40.0
ROUND_TRIPS = 5  # per student repeat: the layer call, two gradient calls, grads[0], to_numpy
SIZES = {  # backend -> (batch, height, width, in_channels, filters); 3x3 SAME
    "numpy": (32, 28, 28, 8, 16),
    "cupy": (128, 32, 32, 16, 32),
}


def _student_run(layer, backward_input, backward_weights, to_numpy, x, J) -> tuple:
    """Return the seconds taken and the results (handles: nothing is fetched here)."""
    start = time.perf_counter()
    out = layer(x)
    dx = backward_input(J)
    grads = backward_weights(J)
    to_numpy(grads[0])
    return time.perf_counter() - start, (out, dx, grads)


def _round_trip(student) -> float:
    """The best time of one call to the student side that does no work."""
    probe = student.beras.backend.floatx
    times = []
    for _ in range(7):
        start = time.perf_counter()
        probe()
        times.append(time.perf_counter() - start)
    return min(times)


def _reference_run(layer, to_numpy, x, J) -> tuple:
    start = time.perf_counter()
    out = layer(x)
    dx = layer.compose_input_gradients(J)
    grads = layer.compose_weight_gradients(J)
    to_numpy(grads[0])
    return time.perf_counter() - start, (out, dx, grads)


def test_conv_speed(twins, student, reference):
    student.beras.set_floatx("float32")  # the autouse fixture puts float32 back afterwards as well
    reference.beras.set_floatx("float32")
    batch, height, width, channels, filters = SIZES[reference.beras.get_backend()]
    s, r = twins.conv(filters, 3, channels, padding="same")
    x = twins.normal((batch, height, width, channels)).astype(np.float32)
    J = twins.normal((batch, height, width, filters)).astype(np.float32)
    xs, xr = twins.tensors(x)
    js, jr = twins.tensors(J)
    s_forward, s_input, s_weights = s, s.compose_input_gradients, s.compose_weight_gradients
    s_sync, r_sync = student.beras.to_numpy, reference.beras.to_numpy

    seconds, reference_results = _reference_run(r, r_sync, xr, jr)
    reference_times = [seconds]
    seconds, student_results = _student_run(s_forward, s_input, s_weights, s_sync, xs, js)
    student_times = [seconds]
    hopeless = student_times[0] > HOPELESS_S and student_times[0] > HOPELESS_RATIO * reference_times[0]
    for _ in range(0 if hopeless else REPEATS):  # interleaved, so both see the same machine load
        reference_times.append(_reference_run(r, r_sync, xr, jr)[0])
        student_times.append(_student_run(s_forward, s_input, s_weights, s_sync, xs, js)[0])

    # correctness on this very input (float32: loose tolerances scaled to each result's size)
    layer = f"Conv2D({filters}, 3, padding='same') on a float32 batch of shape {x.shape}"
    names = ("forward", "compose_input_gradients(J)", "compose_weight_gradients(J)")
    for got, want, what in zip(student_results, reference_results, names):
        want = fetch(want)
        scale = max(float(np.max(np.abs(w))) for w in (want if isinstance(want, list) else [want]))
        assert_close(got, want, rtol=1e-3, atol=1e-4 * scale,
                     what=f"speed test (the result must also be right for the speed points), {layer}: {what}")

    overhead = ROUND_TRIPS * _round_trip(student)
    best_student = max(min(student_times) - overhead, 1e-6)
    best_reference = min(reference_times)
    ratio = best_student / best_reference
    summary = (f"your Conv2D forward+backward ({layer}: forward, compose_input_gradients, compose_weight_gradients) "
               f"took {ratio:.1f}x the reference's time (best of {len(student_times)}: "
               f"{best_student * 1e3:.1f} ms against {best_reference * 1e3:.1f} ms); at most {MAX_RATIO:g}x passes")
    assert ratio <= MAX_RATIO, (
        f"{summary}. Loop over the kernel offsets (fh * fw slices of the padded input), not over pixels or "
        "examples, and let one matrix product do the arithmetic (im2col)"
    )
    note(summary)
