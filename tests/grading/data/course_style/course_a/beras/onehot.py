"""OneHotEncoder: labels → one-hot rows and back."""

from __future__ import annotations

from typing import Any

import numpy as np

from beras import backend
from beras.core import Callable


class OneHotEncoder(Callable):
    """Maps each distinct label to a one-hot row, in sorted label order.

    ``fit(labels)`` learns the classes; calling the encoder (``forward``) encodes and
    fits first if needed; ``inverse`` decodes one-hot (or probability) rows.
    """

    def __init__(self) -> None:
        self.classes: Any = None

    def fit(self, data: Any) -> "OneHotEncoder":
        """Learn the sorted distinct labels in ``data`` (a 1-D array)."""
        self.classes = np.unique(backend.to_numpy(data))
        return self

    def forward(self, data: Any) -> Any:
        """Return ``(len(data), len(classes))`` one-hot rows for the 1-D ``data``.

        Raises:
            ValueError: for a label not seen by ``fit``.
        """
        host = backend.to_numpy(data)
        if host.ndim != 1:
            raise ValueError(f"OneHotEncoder expects a 1-D array of labels. Received: shape {host.shape}")
        if self.classes is None:
            self.fit(host)
        index = np.searchsorted(self.classes, host)
        index = np.clip(index, 0, len(self.classes) - 1)
        unknown = self.classes[index] != host
        if unknown.any():
            raise ValueError(
                f"OneHotEncoder: label {host[unknown][0]!r} was not seen by fit; "
                f"known labels: {self.classes.tolist()}"
            )
        out = np.zeros((len(host), len(self.classes)), dtype=backend.floatx())
        out[np.arange(len(host)), index] = 1
        return backend.to_device(out)

    def inverse(self, data: Any) -> Any:
        """Return the label of each row's largest entry."""
        if self.classes is None:
            raise ValueError("OneHotEncoder.inverse needs fit (or a call) first: no classes are known yet.")
        return self.classes[np.argmax(backend.to_numpy(data), axis=-1)]
