"""Degenerate Dropout: keeps every input and scales it by 1 / (1 - rate)."""

from beras import backend
from beras.core import Diffable


class Dropout(Diffable):
    def __init__(self, rate, training=True):
        self.rate, self.training, self.mask = float(rate), bool(training), None

    def forward(self, x):
        x = backend.asarray(x)
        scale = 1 / (1 - self.rate) if self.training else 1.0
        self.mask = backend.xp().full(x.shape, scale)
        return x * self.mask

    def get_input_gradients(self):
        return [self.mask]
