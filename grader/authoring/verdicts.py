"""One release-gate check's verdict: its state, headline figure and details, and the checks' titles."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

TITLES = {1: "stubs parse and import", 2: "reference full marks", 3: "stub scores nothing", 4: "no leaks",
          5: "coverage of stubbed code", 6: "deterministic", 7: "degenerate submissions score nothing",
          8: "blast radius", 9: "the starter zip works as shipped"}


class CheckState(enum.StrEnum):
    """How a check ended: passed, failed, or never ran (an earlier step stopped the gate)."""

    OK = "ok"
    FAIL = "FAIL"
    NOT_RUN = "not run"


@dataclass
class Check:
    """One check's verdict, its headline figure, and the details behind a failure."""

    number: int
    title: str
    ok: bool
    figure: str
    details: list[str] = field(default_factory=list)
    table: list[str] = field(default_factory=list)  # printed whole, before the details
    rows: list[dict[str, Any]] = field(default_factory=list)  # the table's data, for release.json and the web
    ran: bool = True  # False: an earlier step stopped the gate before this check; ``ok`` is then False

    @property
    def state(self) -> CheckState:
        return CheckState.NOT_RUN if not self.ran else CheckState.OK if self.ok else CheckState.FAIL

    @classmethod
    def not_run(cls, number: int, why: str) -> Check:
        """Check ``number``, which did not run because ``why``."""
        return cls(number, TITLES[number], False, f"not run: {why}", ran=False)
