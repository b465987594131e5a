"""Beras on CuPy against PyTorch on CUDA and against beras on numpy, same run: Conv2D and the digits CNN.

Per shape of ``bench/conv.py``, the forward+backward time (input, kernel and bias gradients) of beras on
CuPy, PyTorch on CUDA (the faster of NCHW and channels_last) and beras on numpy, and two ratios:
CuPy/torch (target <= 3) and numpy/CuPy (target >= 10 on the 64-channel shape). Then the training
throughput of the digits CNN in the three. Without a GPU it exits 2 at once; without a CUDA PyTorch the
torch column is skipped with a note (it is never installed: see bench/gpu_check.py). Lines starting
``RESULT`` are the summary ``make gpu-check`` puts in its table.
Usage: ``python bench/gpu.py [--repeats N] [--check]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _env  # noqa: E402  (must run before numpy is imported)

TORCH_TARGET = 3.0  # beras-CuPy fwd+bwd time at most 3x PyTorch CUDA's, on every shape
NUMPY_TARGET = 10.0  # beras-CuPy at least 10x faster than beras-numpy on the 64-channel shape
WIDE = ((64, 16, 16, 64), 64, 3, 1, "same")  # the 64-channel shape of bench/conv.py
EXIT_NO_GPU = 2


@dataclass(frozen=True)
class Row:
    """Forward+backward seconds of one shape; ``torch`` is None where no CUDA PyTorch ran."""

    label: str
    cupy: float
    numpy: float
    torch: float | None
    wide: bool  # the 64-channel shape, where the numpy target applies


def verdict(rows: list[Row]) -> tuple[list[str], bool]:
    """The target lines (``RESULT ...``) and whether a target was missed.

    A missing torch figure misses no target: its line says it was not measured.
    """
    timed = [r.cupy / r.torch for r in rows if r.torch]
    lines = []
    missed = False
    if timed:
        worst = max(timed)
        missed |= worst > TORCH_TARGET
        lines.append(f"RESULT worst CuPy/torch fwd+bwd {worst:.2f}x (target <= {TORCH_TARGET:g}x): "
                     f"{'met' if worst <= TORCH_TARGET else 'MISSED'}")
    else:
        lines.append("RESULT CuPy/torch fwd+bwd: not measured (no CUDA PyTorch)")
    for row in (r for r in rows if r.wide):
        speedup = row.numpy / row.cupy
        missed |= speedup < NUMPY_TARGET
        lines.append(f"RESULT {row.label}: CuPy {speedup:.1f}x faster than numpy (target >= "
                     f"{NUMPY_TARGET:g}x): {'met' if speedup >= NUMPY_TARGET else 'MISSED'}")
    return lines, missed


def format_rows(rows: list[Row]) -> str:
    """The per-shape table: milliseconds in the three columns and the two ratios."""
    lines = [f"{'shape':<34}{'cupy ms':>9}{'torch ms':>10}{'numpy ms':>10}"
             f"{'cupy/torch':>12}{'numpy/cupy':>12}"]
    for r in rows:
        torch_ms = f"{r.torch * 1e3:>10.2f}" if r.torch else f"{'-':>10}"
        vs_torch = f"{r.cupy / r.torch:>12.2f}" if r.torch else f"{'-':>12}"
        lines.append(f"{r.label:<34}{r.cupy * 1e3:>9.2f}{torch_ms}{r.numpy * 1e3:>10.2f}{vs_torch}"
                     f"{r.numpy / r.cupy:>12.1f}")
    return "\n".join(lines)


def label(shape, filters, k, s, padding) -> str:
    return f"{shape} f{filters} k{k} s{s} {padding}"


def beras_fb(np, beras, backend: str, shape, filters, k, s, padding, repeats: int) -> float:
    """Median forward+backward seconds of beras' Conv2D on ``backend``."""
    from bench.conv import beras_sync, timed

    beras.set_backend(backend)
    x_host = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    layer = beras.Conv2D(filters, k, strides=s, padding=padding, input_channels=shape[3])
    x = beras.Tensor(beras.to_device(x_host))

    def fb():
        with beras.GradientTape() as tape:
            y = layer(x)
        tape.gradient(y, [x, layer.kernel, layer.bias])

    return timed(fb, repeats, beras_sync(beras))


def torch_fb(np, torch, beras, shape, filters, k, s, padding, repeats: int) -> float:
    """Median forward+backward seconds of PyTorch's conv2d on CUDA, the faster memory layout.

    Torch's input is padded exactly as beras' layer pads (the TF rule), then both run an unpadded conv.
    """
    from bench.conv import timed, torch_sync

    F = torch.nn.functional
    x_host = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    (top, bottom), (left, right) = beras.Conv2D(filters, k, strides=s, padding=padding,
                                                input_channels=shape[3]).output_geometry(*shape[1:3])[2:]
    w = torch.randn(filters, shape[3], k, k, device="cuda", requires_grad=True)
    b = torch.zeros(filters, device="cuda", requires_grad=True)
    best = float("inf")
    for channels_last in (False, True):
        x = torch.tensor(x_host.transpose(0, 3, 1, 2).copy(), device="cuda")
        if channels_last:
            x = x.to(memory_format=torch.channels_last)
        x.requires_grad_(True)

        def fb(x=x):
            y = F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, stride=s)
            y.backward(torch.ones_like(y))

        best = min(best, timed(fb, repeats, torch_sync(torch, "cuda")))
    return best


def cuda_torch():
    """PyTorch when it sees a GPU, else None (and a note printed)."""
    try:
        import torch
    except ImportError:
        print("note: PyTorch is not installed: the torch column is skipped")
        return None
    if not torch.cuda.is_available():
        print(f"note: PyTorch {torch.__version__} sees no GPU (a CPU build?): the torch column is skipped")
        return None
    return torch


def training(np, torch, beras, batch: int, seconds: float) -> str:
    """Examples/second of the digits CNN's training step: beras on CuPy, torch CUDA, beras on numpy."""
    from bench.conv import _steps_per_second as per_second
    from bench.conv import beras_sync, training_throughput
    from grader.demo.digits import build_cnn

    figures = {}
    for backend in ("cupy", "numpy"):
        beras.set_backend(backend)
        if backend == "cupy" and torch is not None:
            figures["cupy"], figures["torch"] = training_throughput(np, torch, beras, "cuda", batch, seconds)
            continue
        gen = np.random.default_rng(0)
        x = beras.to_device(gen.random((batch, 8, 8, 1)).astype(np.float32))
        y = beras.to_device(np.eye(10, dtype=np.float32)[gen.integers(10, size=batch)])
        model = build_cnn()
        figures[backend] = per_second(lambda: model.batch_step(x, y), seconds, beras_sync(beras)) * batch
    said = ", ".join(f"{name} {rate:,.0f} ex/s" for name, rate in figures.items())
    vs_torch = f", CuPy/torch {figures['cupy'] / figures['torch']:.2f}" if "torch" in figures else ""
    return (f"RESULT digits CNN training, batch {batch}: {said}{vs_torch}, "
            f"CuPy/numpy {figures['cupy'] / figures['numpy']:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="numpy's BLAS threads")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64, help="batch of the training throughput")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds of each training measurement")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    notes = _env.configure(args.threads)

    import numpy as np

    import beras
    from bench.conv import SHAPES

    if not beras.backend.gpu_available():
        print("bench/gpu.py: no GPU here (CuPy is not installed or sees no CUDA device); it measures beras "
              "on CuPy, so it needs one. `make gpu-check` on a GPU machine runs it.", file=sys.stderr)
        return EXIT_NO_GPU
    torch = cuda_torch()
    print("Conv2D float32 forward+backward: beras on CuPy, PyTorch CUDA, beras on numpy; " + "; ".join(notes))
    rows = []
    for config in SHAPES:
        rows.append(Row(label(*config), beras_fb(np, beras, "cupy", *config, args.repeats),
                        beras_fb(np, beras, "numpy", *config, max(3, args.repeats // 3)),
                        torch_fb(np, torch, beras, *config, args.repeats) if torch else None, config == WIDE))
    print(format_rows(rows))
    print(training(np, torch, beras, args.batch, args.seconds))
    lines, missed = verdict(rows)
    print("\n".join(lines))
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    raise SystemExit(main())
