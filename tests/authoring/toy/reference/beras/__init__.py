"""Toy beras."""
from beras.ops import double, scale_sum
