"""Toy ops."""
import numpy as np


def double(x):
    """Twice x."""
    # BEGIN SOLUTION
    return np.asarray(x) * 2.0
    # END SOLUTION


def scale_sum(x, factor):
    """factor * sum(x)."""
    x = np.asarray(x)
    # BEGIN SOLUTION
    total = x.sum() * factor
    return float(total)
    # END SOLUTION
