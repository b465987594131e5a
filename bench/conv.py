"""Conv2D speed against PyTorch on the CPU (or CuPy against torch CUDA), same run, same threads.

Prints, per shape, beras and torch times for forward and forward+backward (input,
kernel and bias gradients) and the ratio beras/torch; torch is timed in NCHW and in
channels_last and the faster is used. Then the training throughput of the small digits
CNN in both libraries. Usage: ``python bench/conv.py [--threads N] [--backend cupy]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _env  # noqa: E402  (must run before numpy is imported)

SHAPES = [  # (batch, height, width, in_channels), filters, kernel, stride, padding
    ((64, 28, 28, 1), 32, 3, 1, "same"),
    ((64, 32, 32, 3), 64, 3, 1, "same"),
    ((64, 16, 16, 64), 64, 3, 1, "same"),
    ((64, 32, 32, 3), 32, 5, 2, "valid"),
]
FB_TARGET, TRAIN_TARGET = 2.0, 1 / 3


def timed(fn, repeats: int, sync=lambda: None) -> float:
    """Median seconds of ``fn`` over ``repeats`` runs after two warm-up runs."""
    for _ in range(2):
        fn()
    sync()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return samples[len(samples) // 2]


def bench_shape(np, torch, beras, device: str, shape, filters, k, s, padding, repeats) -> dict:
    n, h, w, c = shape
    gen = np.random.default_rng(0)
    x_host = gen.standard_normal(shape).astype(np.float32)
    layer = beras.Conv2D(filters, k, strides=s, padding=padding, input_channels=c)
    x = beras.Tensor(beras.to_device(x_host))
    sync_b = beras_sync(beras)

    def b_fwd():
        layer(x)

    def b_fb():
        with beras.GradientTape() as tape:
            y = layer(x)
        tape.gradient(y, [x, layer.kernel, layer.bias])

    kernel = beras.to_numpy(layer.kernel)
    tw = torch.tensor(kernel.transpose(3, 2, 0, 1).copy(), device=device, requires_grad=True)
    tb = torch.zeros(filters, device=device, requires_grad=True)
    # pad torch's input exactly as the layer pads (TF rule), then both run an unpadded conv
    (top, bottom), (left, right) = layer.output_geometry(h, w)[2:]
    pads = (left, right, top, bottom)
    F = torch.nn.functional
    sync_t = torch_sync(torch, device)
    results = {}
    for layout in ("nchw", "channels_last"):
        tx = torch.tensor(x_host.transpose(0, 3, 1, 2).copy(), device=device)
        if layout == "channels_last":
            tx = tx.to(memory_format=torch.channels_last)
        tx.requires_grad_(True)

        def t_fwd(tx=tx):
            with torch.no_grad():
                F.conv2d(F.pad(tx, pads), tw, tb, stride=s)

        def t_fb(tx=tx):
            y = F.conv2d(F.pad(tx, pads), tw, tb, stride=s)
            y.backward(torch.ones_like(y))

        results[layout] = (timed(t_fwd, repeats, sync_t), timed(t_fb, repeats, sync_t))
    t_fwd_best = min(r[0] for r in results.values())
    t_fb_best = min(r[1] for r in results.values())
    return {
        "beras_fwd": timed(b_fwd, repeats, sync_b),
        "beras_fb": timed(b_fb, repeats, sync_b),
        "torch_fwd": t_fwd_best,
        "torch_fb": t_fb_best,
    }


def torch_sync(torch, device: str):
    """A function that waits for torch's queued GPU work (a no-op on the CPU)."""
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def beras_sync(beras):
    if beras.get_backend() == "cupy":
        import cupy

        return lambda: cupy.cuda.Device().synchronize()
    return lambda: None


def training_throughput(np, torch, beras, device: str, batch: int, seconds: float) -> tuple[float, float]:
    """Examples/second of one training step of the digits CNN, beras then torch."""
    from grader.demo.digits import build_cnn

    gen = np.random.default_rng(0)
    x = gen.random((batch, 8, 8, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[gen.integers(10, size=batch)]
    model = build_cnn()
    xb, yb = beras.to_device(x), beras.to_device(y)
    sync_b = beras_sync(beras)
    steps = _steps_per_second(lambda: model.batch_step(xb, yb), seconds, sync_b)

    nn = torch.nn
    tmodel = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 10),
    ).to(device)
    opt = torch.optim.Adam(tmodel.parameters(), lr=0.003)
    tx = torch.tensor(x.transpose(0, 3, 1, 2).copy(), device=device)
    ty = torch.tensor(y.argmax(1), device=device)
    loss_fn = nn.CrossEntropyLoss()

    def t_step():
        opt.zero_grad()
        loss = loss_fn(tmodel(tx), ty)
        loss.backward()
        opt.step()
        float(loss.detach())  # as beras' batch_step, bring the loss to the host each step

    t_steps = _steps_per_second(t_step, seconds, torch_sync(torch, device))
    return steps * batch, t_steps * batch


def _steps_per_second(step, seconds: float, sync) -> float:
    for _ in range(3):
        step()
    sync()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    sync()
    return count / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch", type=int, default=64, help="batch for the training throughput")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep-blas-env", action="store_true", help="do not change OPENBLAS_CORETYPE")
    args = parser.parse_args()
    notes = _env.configure(args.threads, keep_blas=args.keep_blas_env)

    import numpy as np
    import torch

    import beras

    torch.set_num_threads(args.threads)
    beras.set_backend(args.backend)
    device = "cuda" if args.backend == "cupy" else "cpu"
    print(f"Conv2D float32, beras ({args.backend}) vs torch ({device}); " + "; ".join(notes))
    header = (f"{'input':<18}{'f':>4}{'k':>3}{'s':>3} {'pad':<6}"
              f"{'fwd ms':>16}{'ratio':>7}{'fwd+bwd ms':>18}{'ratio':>7}")
    print(header)
    print(f"{'':<35}{'beras / torch':>16}{'':>7}{'beras / torch':>18}")
    worst = 0.0
    for shape, filters, k, s, padding in SHAPES:
        r = bench_shape(np, torch, beras, device, shape, filters, k, s, padding, args.repeats)
        fwd_ratio, fb_ratio = r["beras_fwd"] / r["torch_fwd"], r["beras_fb"] / r["torch_fb"]
        worst = max(worst, fb_ratio)
        print(
            f"{str(shape):<18}{filters:>4}{k:>3}{s:>3} {padding:<6}"
            f"{r['beras_fwd'] * 1e3:>7.2f} /{r['torch_fwd'] * 1e3:>7.2f}{fwd_ratio:>7.2f}"
            f"{r['beras_fb'] * 1e3:>8.2f} /{r['torch_fb'] * 1e3:>8.2f}{fb_ratio:>7.2f}"
        )
    ours, theirs = training_throughput(np, torch, beras, device, args.batch, seconds=3.0)
    share = ours / theirs
    print(
        f"\nDigits CNN training, batch {args.batch}: beras {ours:,.0f} ex/s, torch {theirs:,.0f} ex/s, "
        f"beras/torch = {share:.2f} (target >= {TRAIN_TARGET:.2f})"
    )
    print(f"Worst forward+backward ratio: {worst:.2f} (target <= {FB_TARGET:.1f})")
    missed = worst > FB_TARGET or share < TRAIN_TARGET
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    raise SystemExit(main())
