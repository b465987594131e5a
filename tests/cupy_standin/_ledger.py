"""What the stand-in saw: every device-to-host and host-to-device transfer, and every dtype it created."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

_PACKAGE = __name__.rpartition(".")[0]  # "tests.cupy_standin" here, "cupy" where a sandbox imports a copy
_SITES_KEPT = 50  # enough to name the culprit; a float64 run would otherwise keep one per array


def call_site() -> str:
    """``file:line`` of the first frame outside the stand-in: who asked for the transfer."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} ({frame.f_code.co_name})"


@dataclass(frozen=True)
class Transfer:
    """One copy across the bus: ``kind`` says how (``get``, ``asnumpy``, ``float``, ``asarray`` ...)."""

    kind: str
    site: str
    nbytes: int


@dataclass
class Ledger:
    """Transfers in both directions and the dtypes of every array created on the "device"."""

    to_host: list[Transfer] = field(default_factory=list)
    to_device: list[Transfer] = field(default_factory=list)
    dtypes: Counter = field(default_factory=Counter)
    float64_sites: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.to_host.clear()
        self.to_device.clear()
        self.dtypes.clear()
        self.float64_sites.clear()

    def host(self, kind: str, nbytes: int) -> None:
        self.to_host.append(Transfer(kind, call_site(), nbytes))

    def device(self, kind: str, nbytes: int) -> None:
        self.to_device.append(Transfer(kind, call_site(), nbytes))

    def created(self, dtype) -> None:
        self.dtypes[dtype.name] += 1
        if dtype.name == "float64" and len(self.float64_sites) < _SITES_KEPT:
            self.float64_sites.append(call_site())


ledger = Ledger()
