"""Reading kept entries under the zip-bomb caps: declared sizes first, then bounded reads."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from typing import BinaryIO

from grader.intake.archive import Entry
from grader.intake.errors import REMAKE, IntakeError
from grader.intake.limits import IntakeLimits, shown_size

_CHUNK = 64 * 2**10


def check_declared(entries: Mapping[str, Entry], limits: IntakeLimits) -> None:
    """Refuse, from the headers alone, kept entries that would unzip too big.

    Only kept entries are checked: ignored ones are never decompressed, so a big, very
    compressible data file next to the student's code does no harm.

    Args:
        entries: the kept entries, by owned path.
        limits: ``max_file_bytes``, ``max_total_bytes``, ``max_ratio`` and ``ratio_floor_bytes`` apply.

    Raises:
        IntakeError: an entry declares more than ``max_file_bytes``, or a ratio over ``max_ratio``
            (a zero compressed size counts as infinite), or all declare more than ``max_total_bytes``.
    """
    for entry in entries.values():
        size, packed = entry.info.file_size, entry.info.compress_size
        if size > limits.max_file_bytes:
            raise _file_too_big(entry, limits)
        if size > limits.ratio_floor_bytes and (packed == 0 or size / packed > limits.max_ratio):
            raise IntakeError(f"{entry.name!r} unzips from {shown_size(packed)} to {shown_size(size)}, more "
                              f"than {limits.max_ratio:g} times its size: this looks like a zip bomb. "
                              "Submit only the .py files you wrote")
    _check_total(sum(entry.info.file_size for entry in entries.values()), limits)


def read_bounded(stream: BinaryIO, limit: int) -> bytes | None:
    """Read a stream to its end, but never more than ``limit + 1`` bytes.

    Args:
        stream: an open binary stream (a zip member).
        limit: the most bytes the content may have.

    Returns:
        The content, or None when the stream holds more than ``limit`` bytes.
    """
    chunks: list[bytes] = []
    left = limit + 1  # one byte past the limit tells "exactly at the limit" from "over it"
    while left > 0:
        chunk = stream.read(min(_CHUNK, left))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        left -= len(chunk)
    return None


def read_kept(archive: zipfile.ZipFile, entries: Mapping[str, Entry],
              limits: IntakeLimits) -> dict[str, bytes]:
    """Decompress the kept entries, enforcing the caps on what actually comes out.

    Args:
        archive: the open zip.
        entries: the kept entries, by owned path; their headers passed ``check_declared``.
        limits: ``max_file_bytes`` and ``max_total_bytes`` apply to the bytes read.

    Returns:
        The content of each kept entry, by owned path, in the order of ``entries``.

    Raises:
        IntakeError: an entry is over a cap when read, fails its CRC or is otherwise damaged, or
            uses a compression method Python cannot read.
    """
    files: dict[str, bytes] = {}
    total = 0
    for rel, entry in entries.items():
        content = _read_one(archive, entry, limits.max_file_bytes)
        if content is None:  # the header understated the size: the bounded read caught it
            raise _file_too_big(entry, limits)
        total += len(content)
        _check_total(total, limits)
        files[rel] = content
    return files


def _read_one(archive: zipfile.ZipFile, entry: Entry, limit: int) -> bytes | None:
    try:
        with archive.open(entry.info) as stream:
            return read_bounded(stream, limit)
    except NotImplementedError:
        raise IntakeError(f"{entry.name!r} in the zip uses a compression method the grader cannot read; "
                          f"use standard (deflate) compression: {REMAKE}") from None
    # A bad CRC, a truncated stream or corrupt deflate data surface as BadZipFile, EOFError,
    # zlib.error, OSError...; all mean "damaged" to the student, and none may escape as a traceback.
    except Exception:  # noqa: BLE001
        raise IntakeError(f"{entry.name!r} in the zip is damaged (its content does not unzip to what "
                          f"the zip says it holds); {REMAKE}") from None


def _file_too_big(entry: Entry, limits: IntakeLimits) -> IntakeError:
    return IntakeError(f"{entry.name!r} is over {shown_size(limits.max_file_bytes)} when unzipped; a "
                       f"submitted file may be at most {shown_size(limits.max_file_bytes)}")


def _check_total(total: int, limits: IntakeLimits) -> None:
    if total > limits.max_total_bytes:
        raise IntakeError(f"the files you submitted add up to over {shown_size(limits.max_total_bytes)} "
                          f"when unzipped; at most {shown_size(limits.max_total_bytes)} are allowed")
