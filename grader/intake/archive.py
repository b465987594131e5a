"""The zip container: getting its bytes under a cap, opening it, and vetting every entry's header."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.intake.errors import REMAKE, IntakeError
from grader.intake.limits import IntakeLimits, shown_size
from grader.intake.names import entry_path

_ENCRYPTED = 0x1 | 0x40  # general purpose flag bits: traditional and strong encryption
_DOS_FOLDER = 0x10  # MS-DOS attribute byte, low 8 bits of external_attr
# Leading bytes of formats students upload by mistake, to name what they sent instead of a zip.
_OTHER_FORMATS = (
    (b"\x1f\x8b", "a gzip (.gz / .tar.gz) file"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"%PDF", "a PDF document"),
)
_FILE_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFCHR: "a device file",
    stat.S_IFBLK: "a device file",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
}


@dataclass(frozen=True)
class Entry:
    """One vetted entry of the zip.

    Attributes:
        name: the name as stored in the zip, for messages to the student.
        path: the normalised relative path (see ``names.entry_path``).
        is_folder: a folder entry; its content, if any, is never read.
        info: zipfile's header, to open the entry with.
    """

    name: str
    path: str
    is_folder: bool
    info: zipfile.ZipInfo


def load_bytes(source: bytes | os.PathLike[str], limits: IntakeLimits) -> tuple[bytes, str]:
    """Get the submission's bytes, never reading a file over the cap.

    Args:
        source: the zip's content, or the path (str or Path) of a zip file.
        limits: ``max_zip_bytes`` applies.

    Returns:
        ``(data, label)``: the bytes, and how messages name the submission (the file name, or
        "the uploaded file").

    Raises:
        IntakeError: the file cannot be read, or is over ``max_zip_bytes`` (checked from its size on
            disk before reading, and again on what was read in case it grew).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), "the uploaded file"
    else:
        path = Path(source)
        label = path.name or str(path)
        try:
            size = path.stat().st_size
            _check_size(label, size, limits)  # before reading a byte
            with path.open("rb") as handle:
                data = handle.read(limits.max_zip_bytes + 1)  # +1: notices a file that grew meanwhile
        except OSError as error:
            raise IntakeError(f"cannot read the submission {label}: {error.strerror or error}") from None
    _check_size(label, len(data), limits)
    return data, label


def _check_size(label: str, size: int, limits: IntakeLimits) -> None:
    if size > limits.max_zip_bytes:
        raise IntakeError(f"{label} is {shown_size(size)}; a submission zip may be at most "
                          f"{shown_size(limits.max_zip_bytes)}. Submit only the .py files you wrote, "
                          "not data sets, virtual environments or build folders")


def open_zip(data: bytes, label: str) -> zipfile.ZipFile:
    """Open the bytes as a zip, translating every way that fails into one message.

    Args:
        data: the submission's bytes.
        label: how messages name the submission.

    Returns:
        The open archive; the caller closes it.

    Raises:
        IntakeError: the bytes are empty, are not a zip (naming the format when it is a common
            mistake), are a damaged or truncated zip, or hold a name marked UTF-8 that is not.
    """
    if not data:
        raise IntakeError(f"{label} is empty, not a zip archive; {REMAKE}")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except UnicodeDecodeError:
        raise IntakeError(f"{label} holds a file name that is marked as UTF-8 but is not valid UTF-8; "
                          f"rename the file to plain letters and {REMAKE}") from None
    # zipfile raises BadZipFile, EOFError, OSError, struct.error, ValueError... on malformed
    # input; to the student they all mean the same thing, and none may escape as a traceback.
    except Exception:  # noqa: BLE001
        raise _unreadable(data, label) from None


def _unreadable(data: bytes, label: str) -> IntakeError:
    """Why bytes zipfile cannot open are refused: not a zip at all (naming what it is), or damaged."""
    if not data.startswith(b"PK"):
        found = next((what for magic, what in _OTHER_FORMATS if data.startswith(magic)), None)
        if found is None and data[257:262] == b"ustar":
            found = "a tar archive"
        instead = f" (it looks like {found})" if found else ""
        return IntakeError(f"{label} is not a zip archive{instead}; submit a .zip file: {REMAKE}")
    return IntakeError(f"{label} is a damaged or incomplete zip archive (it may have been cut short while "
                       f"uploading); {REMAKE}")


def vet_entries(archive: zipfile.ZipFile, limits: IntakeLimits) -> list[Entry]:
    """Check every entry's header; nothing is decompressed here.

    Args:
        archive: the open zip.
        limits: ``max_entries`` applies.

    Returns:
        The entries in zip order.

    Raises:
        IntakeError: too many entries; a name that ``entry_path`` refuses; an encrypted entry;
            a symlink, device, FIFO or socket; two entries with the same path.
    """
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise IntakeError(f"the zip has {len(infos)} entries; at most {limits.max_entries} are allowed. "
                          "Submit only the .py files you wrote, not whole project folders")
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for info in infos:
        path, named_as_folder = entry_path(info.orig_filename)
        name = info.filename
        if info.flag_bits & _ENCRYPTED:
            raise IntakeError(f"{name!r} in the zip is password-protected; make the zip again without a "
                              "password")
        mode = info.external_attr >> 16
        file_type = stat.S_IFMT(mode)
        if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: Windows tools store no Unix type
            kind = _FILE_KINDS.get(file_type, "not a regular file")
            fix = " Zip the file itself, not a link to it" if file_type == stat.S_IFLNK else ""
            raise IntakeError(f"{name!r} in the zip is {kind}; only regular files and folders may be "
                              f"submitted.{fix}")
        if path in seen:
            same = f"{name!r} twice" if seen[path] == name else f"both {seen[path]!r} and {name!r}"
            raise IntakeError(f"the zip holds {same}, which name the same file; keep one and make the "
                              "zip again")
        seen[path] = name
        is_folder = named_as_folder or stat.S_ISDIR(mode) or bool(info.external_attr & _DOS_FOLDER)
        entries.append(Entry(name, path, is_folder, info))
    return entries
