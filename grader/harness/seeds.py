"""Per-test seeds: the run's seed mixed with the test's id, the same under pytest and the mini runner."""

from __future__ import annotations

import zlib

import numpy as np


def test_seed(run_seed: int, test_id: str) -> int:
    """The seed of test ``test_id`` (``"<tests folder>/<file>::<test name>"``) in run ``run_seed``."""
    return int(np.random.SeedSequence([run_seed, zlib.crc32(test_id.encode())]).generate_state(1)[0])


test_seed.__test__ = False  # not a test, whatever pytest's name-based collection thinks
