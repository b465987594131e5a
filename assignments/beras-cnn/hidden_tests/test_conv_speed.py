"""Conv2D speed: the student's forward + backward against the reference's on the same realistic batch.

Both layers and all inputs are built once; each repeat calls a layer through handles to objects
that already live on its side, so no data crosses per repeat. A repeat ends with ``to_numpy``
of the kernel gradient, which on CuPy waits for the GPU.

The reference is timed in a process of its own (``reference_process``), reached through the
same boundary as the student's: both sides pay the same round trips, so nothing is measured
through the student's process and subtracted (a baseline the student's code could slow down).
While the reference runs, every student process is stopped (``pause_student``), so the student
cannot take its CPU either. The score is the ratio of the best times; up to MAX_RATIO passes. The
result must also be right: a fast but wrong Conv2D earns no speed points.
"""

from __future__ import annotations

import time

import numpy as np

from grader.harness import assert_close, fetch, note

MAX_RATIO = 10.0
REPEATS = 3
HOPELESS_S = 3.0  # a first student run this slow, and over HOPELESS_RATIO, is not repeated
HOPELESS_RATIO = 40.0
SIZES = {  # backend -> (batch, height, width, in_channels, filters); 3x3 SAME
    "numpy": (32, 28, 28, 8, 16),
    "cupy": (128, 32, 32, 16, 32),
}


def _timed_run(calls: tuple, x, J) -> tuple:
    """Forward, both backward calls and a sync, through handles: the seconds taken and the results (handles).

    ``calls`` are handles to the layer, its two gradient methods and ``to_numpy``, made once, so
    that every repeat on either side is the same five round trips.
    """
    layer, backward_input, backward_weights, to_numpy = calls
    start = time.perf_counter()
    out = layer(x)
    dx = backward_input(J)
    grads = backward_weights(J)
    to_numpy(grads[0])
    return time.perf_counter() - start, (out, dx, grads)


def test_conv_speed(twins, student, reference, reference_process, pause_student):
    timed_lib = reference_process.beras
    for lib in (student.beras, reference.beras, timed_lib):
        lib.set_floatx("float32")  # the autouse fixture puts float32 back afterwards as well
    batch, height, width, channels, filters = SIZES[reference.beras.get_backend()]
    s, r = twins.conv(filters, 3, channels, padding="same")
    timed = timed_lib.Conv2D(filters, 3, padding="same", input_channels=channels)
    timed.kernel.assign(fetch(r.kernel))
    timed.bias.assign(fetch(r.bias))
    x = twins.normal((batch, height, width, channels)).astype(np.float32)
    J = twins.normal((batch, height, width, filters)).astype(np.float32)
    xs, xr = twins.tensors(x)
    js, jr = twins.tensors(J)
    xt, jt = timed_lib.Tensor(x), timed_lib.Tensor(J)
    s_calls = (s, s.compose_input_gradients, s.compose_weight_gradients, student.beras.to_numpy)
    t_calls = (timed, timed.compose_input_gradients, timed.compose_weight_gradients, timed_lib.to_numpy)

    def reference_run() -> float:
        with pause_student():
            return _timed_run(t_calls, xt, jt)[0]

    reference_times = [reference_run()]
    seconds, student_results = _timed_run(s_calls, xs, js)
    student_times = [seconds]
    hopeless = student_times[0] > HOPELESS_S and student_times[0] > HOPELESS_RATIO * reference_times[0]
    for _ in range(0 if hopeless else REPEATS):  # interleaved, so both see the same machine load
        reference_times.append(reference_run())
        student_times.append(_timed_run(s_calls, xs, js)[0])

    # correctness on this very input, against the judge's own reference (float32: tolerances scaled to each
    # result)
    layer = f"Conv2D({filters}, 3, padding='same') on a float32 batch of shape {x.shape}"
    names = ("forward", "compose_input_gradients(J)", "compose_weight_gradients(J)")
    expected = (r(xr), r.compose_input_gradients(jr), r.compose_weight_gradients(jr))
    for got, want, what in zip(student_results, expected, names):
        want = fetch(want)
        scale = max(float(np.max(np.abs(w))) for w in (want if isinstance(want, list) else [want]))
        assert_close(got, want, rtol=1e-3, atol=1e-4 * scale,
                     what=f"speed test (the result must also be right for the speed points), {layer}: {what}")

    best_student, best_reference = min(student_times), min(reference_times)
    ratio = best_student / best_reference
    summary = (f"your Conv2D forward+backward ({layer}: forward, compose_input_gradients, "
               f"compose_weight_gradients) took {ratio:.1f}x the reference's time (best of "
               f"{len(student_times)}: {best_student * 1e3:.1f} ms against {best_reference * 1e3:.1f} ms, "
               f"both through the grader's calls); at most {MAX_RATIO:g}x passes")
    assert ratio <= MAX_RATIO, (
        f"{summary}. Loop over the kernel offsets (fh * fw slices of the padded input), not over pixels or "
        "examples, and let one matrix product do the arithmetic (im2col)"
    )
    note(summary)
