"""Layers: Dense, Conv2D, MaxPool2D, Flatten, Add and Dropout."""

from beras.layers.conv import Conv2D
from beras.layers.dense import Dense
from beras.layers.dropout import Dropout
from beras.layers.flatten import Flatten
from beras.layers.merge import Add
from beras.layers.pooling import MaxPool2D

__all__ = ["Add", "Conv2D", "Dense", "Dropout", "Flatten", "MaxPool2D"]
