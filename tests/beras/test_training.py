"""End-to-end training on digits with grader.demo.digits: accuracy targets and the shift robustness report."""

from __future__ import annotations

import numpy as np
import pytest

from grader.demo import digits

pytestmark = pytest.mark.slow

NEIGHBOURS = {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)} - {(0, 0)}


@pytest.fixture(scope="module")
def mlp_report():
    return digits.train("mlp", epochs=30, seed=0, verbose=False)


@pytest.fixture(scope="module")
def cnn_report():
    return digits.train("cnn", epochs=15, seed=0, verbose=False)


def test_mlp_reaches_95_percent(mlp_report):
    assert mlp_report.name == "mlp" and mlp_report.epochs == 30
    assert mlp_report.accuracy[0] >= 0.95
    assert mlp_report.seconds > 0


def test_cnn_reaches_97_percent(cnn_report):
    assert cnn_report.name == "cnn" and cnn_report.epochs == 15
    assert cnn_report.accuracy[0] >= 0.97


@pytest.mark.parametrize("which", ["mlp_report", "cnn_report"])
def test_report_records_every_shift(request, which):
    report = request.getfixturevalue(which)
    assert set(report.accuracy) == set(digits.SHIFTS)
    assert 2 in report.accuracy
    for shift, acc in report.accuracy.items():
        assert isinstance(acc, float), shift
        assert 0.0 <= acc <= 1.0, shift
    # shifted digits are harder than the originals
    assert report.accuracy[2] < report.accuracy[0]


def test_training_repeats_with_the_same_seed(mlp_report):
    again = digits.train("mlp", epochs=30, seed=0, verbose=False)
    assert again.accuracy == mlp_report.accuracy


def one_hot_pixel_images(n, row, col, size=8):
    images = np.zeros((n, size, size, 1), dtype=np.float32)
    images[:, row, col, 0] = 1.0
    return images


def displacement(before, after):
    (r0, c0), (r1, c1) = (np.argwhere(img[..., 0])[0] for img in (before, after))
    return int(r1 - r0), int(c1 - c0)


@pytest.mark.parametrize("pixels", [1, 2])
def test_shift_moves_a_single_pixel_to_a_neighbour(pixels):
    images = one_hot_pixel_images(200, 4, 3)
    shifted = digits.shift_images(images, pixels, seed=5)
    assert shifted.shape == images.shape and shifted.dtype == images.dtype
    seen = set()
    for before, after in zip(images, shifted):
        assert np.count_nonzero(after) == 1 and after.sum() == 1.0
        dy, dx = displacement(before, after)
        assert (dy // pixels, dx // pixels) in NEIGHBOURS
        assert dy % pixels == 0 and dx % pixels == 0
        seen.add((dy // pixels, dx // pixels))
    assert seen == NEIGHBOURS  # all 8 directions occur
    np.testing.assert_array_equal(images, one_hot_pixel_images(200, 4, 3))  # input untouched


def test_shift_moves_whole_image_content():
    gen = np.random.default_rng(0)
    images = gen.uniform(0.1, 1.0, size=(50, 8, 8, 1)).astype(np.float32)
    shifted = digits.shift_images(images, 1, seed=3)
    for before, after in zip(images, shifted):
        matches = []
        for dy, dx in NEIGHBOURS:
            expected = np.zeros_like(before)
            expected[max(0, dy) : 8 + min(0, dy), max(0, dx) : 8 + min(0, dx)] = before[
                max(0, -dy) : 8 - max(0, dy), max(0, -dx) : 8 - max(0, dx)
            ]
            if np.array_equal(after, expected):
                matches.append((dy, dx))
        assert len(matches) == 1


def test_shift_drops_pixels_pushed_off_the_edge():
    images = one_hot_pixel_images(100, 0, 0)
    shifted = digits.shift_images(images, 1, seed=0)
    for after in shifted:
        count = np.count_nonzero(after)
        assert count in (0, 1)
        if count:
            assert tuple(np.argwhere(after[..., 0])[0]) in {(0, 1), (1, 0), (1, 1)}
    assert (np.count_nonzero(shifted.reshape(100, -1), axis=1) == 0).any()


def test_shift_is_seeded():
    images = np.random.default_rng(1).uniform(size=(20, 8, 8, 1))
    np.testing.assert_array_equal(digits.shift_images(images, 1, 9), digits.shift_images(images, 1, 9))
    assert not np.array_equal(digits.shift_images(images, 1, 9), digits.shift_images(images, 1, 10))


def test_shift_zero_returns_an_equal_copy():
    images = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype(np.float32)
    same = digits.shift_images(images, 0, seed=0)
    np.testing.assert_array_equal(same, images)
    assert same is not images and not np.shares_memory(same, images)
