"""The zip's end-of-central-directory record: its declared entry count and directory size, checked
before parsing.

``zipfile.ZipFile`` builds a ``ZipInfo`` for every central directory entry before anyone can look at
the count: a zip that is nothing but a directory of 415,000 empty entries costs seconds of CPU and
hundreds of MiB there. The record at the end of the zip (22 bytes, or its ZIP64 form) declares the
count and the directory's size, so an absurd one is refused from those few bytes. zipfile reads
exactly ``size`` bytes of directory whatever the count says, so capping the size bounds its work even
when the count lies.
"""

from __future__ import annotations

import struct

from grader.intake.errors import IntakeError
from grader.intake.limits import IntakeLimits, shown_size

# signature, disk, the directory's disk, entries here, entries, size, offset, comment length
_END = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_LOCATOR = struct.Struct("<4sLQL")  # ZIP64 locator: signature, disk, record offset, disks
_LOCATOR_SIGNATURE = b"PK\x06\x07"
_END64 = struct.Struct("<4sQ2H2L4Q")  # ZIP64 record: ..., entries here, entries, size, offset
_END64_SIGNATURE = b"PK\x06\x06"
_MAX_COMMENT = 0xFFFF


def declared_directory(data: bytes) -> tuple[int, int] | None:
    """The entry count and central directory size the zip declares, as zipfile would find them.

    Args:
        data: the whole zip.

    Returns:
        ``(entries, directory_bytes)``, or None when there is no end record (zipfile then refuses the bytes).
    """
    tail = data[-(_END.size + _MAX_COMMENT):]
    # zipfile looks for a record without a comment first, then for the last signature in the tail.
    plain = tail[-_END.size:-_END.size + 4] == _END_SIGNATURE
    at = len(tail) - _END.size if plain else tail.rfind(_END_SIGNATURE)
    if at < 0 or len(tail) - at < _END.size:
        return None
    _, _, _, _, entries, size, _, _ = _END.unpack_from(tail, at)
    end_offset = len(data) - len(tail) + at
    locator_at = end_offset - _LOCATOR.size
    if locator_at >= 0 and data[locator_at:locator_at + 4] == _LOCATOR_SIGNATURE:
        record_at = locator_at - _END64.size  # where zipfile reads the ZIP64 record from
        if record_at >= 0 and data[record_at:record_at + 4] == _END64_SIGNATURE:
            fields = _END64.unpack_from(data, record_at)
            entries, size = fields[7], fields[8]
    return entries, size


def check_directory(data: bytes, limits: IntakeLimits) -> None:
    """Refuse a zip whose declared entry count or central directory size is over the caps, before it
    is parsed.

    Raises:
        IntakeError: more than ``limits.max_entries`` entries, or a directory over
            ``limits.max_directory_bytes``.
    """
    declared = declared_directory(data)
    if declared is None:
        return
    entries, size = declared
    if entries > limits.max_entries:
        raise IntakeError(f"the zip has {entries} entries; at most {limits.max_entries} are allowed. "
                          "Submit only the .py files you wrote, not whole project folders")
    if size > limits.max_directory_bytes:
        raise IntakeError(f"the zip's list of entries takes {shown_size(size)}; at most "
                          f"{shown_size(limits.max_directory_bytes)} is allowed. Submit only the .py files "
                          "you wrote, not whole project folders")
