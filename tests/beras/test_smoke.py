"""Smoke test: the public names exist at top level."""

import beras

PUBLIC = (
    "Tensor Variable GradientTape Dense Conv2D MaxPool2D Flatten ReLU LeakyReLU Sigmoid Tanh "
    "Softmax MeanSquaredError CategoricalCrossEntropy BinaryCrossEntropy CategoricalAccuracy "
    "OneHotEncoder BasicOptimizer SGD RMSProp Adam SequentialModel set_backend"
).split()


def test_public_names_are_exported():
    missing = [name for name in PUBLIC if not hasattr(beras, name)]
    assert missing == []
