"""IntakeLimits: the size and count caps a submission zip must stay under."""

from __future__ import annotations

from dataclasses import dataclass

_MIB = 2**20


@dataclass(frozen=True)
class IntakeLimits:
    """Caps applied while a submission is read; the defaults suit a package of small .py files.

    Attributes:
        max_zip_bytes: size of the zip file itself, checked before it is opened.
        max_entries: entries in the zip, folders and ignored files included.
        max_directory_bytes: the zip's central directory (the list of entries), as its end record declares;
            checked with ``max_entries`` before the zip is parsed.
        max_file_bytes: one kept file, uncompressed.
        max_total_bytes: all kept files together, uncompressed.
        max_ratio: uncompressed / compressed size of one kept entry, as its header declares
            (zip bombs); only checked for entries over ``ratio_floor_bytes``.
        ratio_floor_bytes: entries declaring at most this many uncompressed bytes skip the ratio
            check: they cannot hurt, and short repetitive files legitimately compress very well.
    """

    max_zip_bytes: int = 20 * _MIB
    max_entries: int = 1000
    max_directory_bytes: int = 1 * _MIB
    max_file_bytes: int = 5 * _MIB
    max_total_bytes: int = 50 * _MIB
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 64 * 2**10

    def __post_init__(self) -> None:
        for name in ("max_zip_bytes", "max_entries", "max_directory_bytes", "max_file_bytes",
                     "max_total_bytes", "max_ratio"):
            if not getattr(self, name) > 0:
                raise ValueError(f"IntakeLimits.{name} must be positive, got {getattr(self, name)!r}")
        if self.ratio_floor_bytes < 0:
            raise ValueError(f"IntakeLimits.ratio_floor_bytes must be >= 0, got {self.ratio_floor_bytes!r}")


DEFAULT_LIMITS = IntakeLimits()


def shown_size(size: int) -> str:
    """A byte count for a student to read, e.g. ``"5 MiB"`` or ``"1.5 KiB"``.

    Args:
        size: a number of bytes.

    Returns:
        The size in the largest unit that keeps it at least 1, with at most one decimal.
    """
    for unit, scale in (("MiB", _MIB), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"
