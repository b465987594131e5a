"""A solution block at module level: helper functions and constants."""

from __future__ import annotations

import math

EPSILON = 1e-7

# BEGIN SOLUTION
_LOG_CLIP = math.log(EPSILON)


def _stable_log(x):
    return math.log(max(x, EPSILON))
# END SOLUTION


def cross_entropy(p, q):
    """Return ``-sum(p * log(q))``."""
    # BEGIN SOLUTION
    return -sum(pi * _stable_log(qi) for pi, qi in zip(p, q))
    # END SOLUTION
