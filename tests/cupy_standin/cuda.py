"""``cupy.cuda`` as far as beras asks: one device, always there."""

from __future__ import annotations

from types import SimpleNamespace


def _device_count() -> int:
    return 1


runtime = SimpleNamespace(getDeviceCount=_device_count)


class Device:
    """``cupy.cuda.Device(0)``: a context manager that does nothing (there is one device)."""

    def __init__(self, device: int = 0) -> None:
        self.id = device

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def synchronize(self) -> None:
        return None


def is_available() -> bool:
    return True
