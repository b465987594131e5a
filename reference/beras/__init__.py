"""Beras: a small Keras-like deep-learning library on numpy (and CuPy), built by students."""

from beras import backend, data, initializers
from beras.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from beras.backend import get_backend, set_backend, set_floatx, to_device, to_numpy
from beras.core import Callable, Diffable, Tensor, Variable, Weighted
from beras.gradient_tape import GradientTape
from beras.initializers import set_seed
from beras.layers import Add, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from beras.losses import BinaryCrossEntropy, CategoricalCrossEntropy, MeanSquaredError
from beras.metrics import CategoricalAccuracy
from beras.model import Model, SequentialModel
from beras.onehot import OneHotEncoder
from beras.optimizers import SGD, Adam, BasicOptimizer, RMSProp

__version__ = "0.1.0"

__all__ = [
    # the submodules students reach as beras.backend, beras.data, beras.initializers
    "backend", "data", "initializers",
    "Adam", "Add", "BasicOptimizer", "BinaryCrossEntropy", "Callable", "CategoricalAccuracy",
    "CategoricalCrossEntropy", "Conv2D", "Dense", "Diffable", "Dropout", "Flatten", "GradientTape",
    "LeakyReLU", "MaxPool2D", "MeanSquaredError", "Model", "OneHotEncoder", "RMSProp", "ReLU",
    "SGD", "SequentialModel", "Sigmoid", "Softmax", "Tanh", "Tensor", "Variable", "Weighted",
    "get_backend", "set_backend", "set_floatx", "set_seed", "to_device", "to_numpy",
]
