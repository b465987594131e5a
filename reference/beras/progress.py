"""A small text progress bar for ``fit``: ``Epoch 2/5 [=====>    ] 14/28 loss 0.41 acc 0.88``."""

from __future__ import annotations

import sys
import time
from typing import IO


class ProgressBar:
    """Draws one line per epoch; redraws in place on a terminal, prints once otherwise."""

    def __init__(self, total: int, prefix: str, stream: IO[str] | None = None, width: int = 24) -> None:
        self.total, self.prefix, self.width = max(int(total), 1), prefix, width
        self.stream = stream or sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()

    def line(self, done: int, stats: dict[str, float]) -> str:
        """Return the bar's text after ``done`` of ``total`` steps."""
        filled = int(self.width * done / self.total)
        arrow = ">" if filled < self.width else ""
        bar = "=" * filled + arrow + " " * (self.width - filled - len(arrow))
        figures = " ".join(f"{k} {v:.4f}" for k, v in stats.items())
        elapsed = time.perf_counter() - self.start
        return f"{self.prefix} [{bar}] {done}/{self.total} {figures} ({elapsed:.1f}s)"

    def update(self, done: int, stats: dict[str, float]) -> None:
        """Redraw (on a terminal) after ``done`` steps."""
        if self.live:
            self.stream.write("\r" + self.line(done, stats))
            self.stream.flush()

    def close(self, stats: dict[str, float]) -> None:
        """Finish the line with the final figures."""
        text = self.line(self.total, stats)
        self.stream.write(("\r" if self.live else "") + text + "\n")
        self.stream.flush()
