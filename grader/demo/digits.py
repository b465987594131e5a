"""The reference MLP and CNN on scikit-learn's digits, and how well each survives a shift.

Used by ``beras-grader demo`` and by the end-to-end tests, so the numbers the README
quotes are the numbers the tests check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import beras

SHIFTS = (0, 1, 2)


def build_mlp() -> beras.SequentialModel:
    """64 → 128 (ReLU) → 10 (softmax)."""
    model = beras.SequentialModel(
        [
            beras.Flatten(),
            beras.Dense(64, 128, initializer="kaiming"),
            beras.ReLU(),
            beras.Dense(128, 10, initializer="xavier"),
            beras.Softmax(),
        ]
    )
    model.compile(beras.Adam(0.002), beras.CategoricalCrossEntropy(), beras.CategoricalAccuracy())
    return model


def build_cnn() -> beras.SequentialModel:
    """conv 3x3x16 SAME → pool 2 → conv 3x3x32 SAME → pool 2 → dense 10 (softmax)."""
    model = beras.SequentialModel(
        [
            beras.Conv2D(16, 3, padding="same", input_channels=1, initializer="kaiming"),
            beras.ReLU(),
            beras.MaxPool2D(2),
            beras.Conv2D(32, 3, padding="same", input_channels=16, initializer="kaiming"),
            beras.ReLU(),
            beras.MaxPool2D(2),
            beras.Flatten(),
            beras.Dense(128, 10, initializer="xavier"),
            beras.Softmax(),
        ]
    )
    model.compile(beras.Adam(0.003), beras.CategoricalCrossEntropy(), beras.CategoricalAccuracy())
    return model


def shift_images(images: np.ndarray, pixels: int, seed: int) -> np.ndarray:
    """Move each NHWC image ``pixels`` pixels in one of 8 random directions; fill with 0."""
    if pixels == 0:
        return images.copy()
    gen = np.random.default_rng(seed)
    directions = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    for k, choice in enumerate(gen.integers(len(directions), size=len(images))):
        dy, dx = (pixels * d for d in directions[choice])
        src = images[k, max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
        out[k, max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


@dataclass
class Report:
    """One trained model's figures."""

    name: str
    epochs: int
    seconds: float
    accuracy: dict[int, float]  # shift in pixels -> test accuracy


def train(name: str, epochs: int, seed: int = 0, verbose: bool = True, batch_size: int = 32) -> Report:
    """Train ``"mlp"`` or ``"cnn"`` on digits; return test accuracy at each shift in SHIFTS."""
    beras.set_seed(seed)
    x_train, y_train, x_test, y_test = beras.data.load_digits(seed=seed)
    model = build_mlp() if name == "mlp" else build_cnn()
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    seconds = time.perf_counter() - start
    accuracy = {
        k: model.evaluate(shift_images(x_test, k, seed + k), y_test)["acc"] for k in SHIFTS
    }
    return Report(name, epochs, seconds, accuracy)


def run_demo(epochs_mlp: int = 30, epochs_cnn: int = 15, seed: int = 0) -> list[Report]:
    """Train both models with progress bars and print a table of test accuracies."""
    reports = []
    for name, epochs in (("mlp", epochs_mlp), ("cnn", epochs_cnn)):
        print(f"\n== Training the reference {name.upper()} on digits ({epochs} epochs) ==")
        reports.append(train(name, epochs, seed=seed))
    print("\nTest accuracy on held-out digits (shifted n pixels in a random direction):")
    print(f"{'model':<6}{'epochs':>7}{'train s':>9}" + "".join(f"{'shift ' + str(k):>10}" for k in SHIFTS))
    for r in reports:
        print(f"{r.name.upper():<6}{r.epochs:>7}{r.seconds:>9.1f}"
              + "".join(f"{r.accuracy[k]:>10.3f}" for k in SHIFTS))
    return reports
