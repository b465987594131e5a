"""Toy beras."""
from beras.ops import double, scale_sum

__all__ = ["double", "scale_sum"]
