"""An absurd central directory is refused from the zip's end record, before zipfile parses a single entry."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from grader.intake import IntakeError, IntakeLimits, read_submission
from grader.intake.directory import declared_directory
from tests.intake.test_bombs import OWNED, zip_of

_ENTRY = struct.Struct("<4s6H3L5H2L")  # a central directory header, 46 bytes before its name


def directory_only(count: int, *, declared: int | None = None, zip64: bool = False) -> bytes:
    """A "zip" that is nothing but ``count`` central directory entries (no files) and its end record.

    Args:
        count: the entries really there.
        declared: the entry count the end record states (default: the truth).
        zip64: state the count and size in a ZIP64 end record (as counts over 65,535 need).
    """
    entry = _ENTRY.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0) + b"a"
    directory = entry * count
    declared = count if declared is None else declared
    if not zip64:
        return directory + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, declared, declared, len(directory), 0,
                                       0)
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, declared, declared, len(directory), 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, len(directory), 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return directory + record + locator + end


@pytest.fixture
def zipfile_never_opened(monkeypatch):
    """Fail the test if intake hands the bytes to zipfile (the expensive part this check exists to skip)."""
    def opened(*args, **kwargs):
        raise AssertionError("zipfile.ZipFile was asked to parse the directory")
    monkeypatch.setattr("grader.intake.archive.zipfile.ZipFile", opened)


def refusal(data: bytes, **limits) -> str:
    with pytest.raises(IntakeError) as caught:
        read_submission(data, OWNED, IntakeLimits(**limits))
    return str(caught.value)


def test_the_end_record_is_read_as_zipfile_reads_it():
    real = zip_of(("beras/losses.py", b"x = 1\n"), ("beras/activations.py", b"y = 2\n"))
    infos = zipfile.ZipFile(io.BytesIO(real)).infolist()
    size = sum(46 + len(i.filename.encode()) + len(i.extra) + len(i.comment) for i in infos)
    assert declared_directory(real) == (2, size)
    # found by searching the tail
    assert declared_directory(real + b"trailing comment-less junk") == (2, size)
    assert declared_directory(directory_only(3, zip64=True)) == (3, 3 * 47)
    assert declared_directory(b"not a zip") is None


def test_a_directory_of_415k_entries_is_refused_before_it_is_parsed(zipfile_never_opened):
    data = directory_only(415_000, zip64=True)
    assert len(data) < 20 * 2**20  # under the upload cap: only the directory check stops it
    assert refusal(data, max_directory_bytes=64 * 2**20).startswith(
        "the zip has 415000 entries; at most 1000 are allowed")


def test_a_directory_over_the_plain_count_cap_is_refused_before_it_is_parsed(zipfile_never_opened):
    assert refusal(directory_only(5000)).startswith("the zip has 5000 entries; at most 1000 are allowed")


def test_a_directory_that_understates_its_count_is_refused_by_its_size(zipfile_never_opened):
    message = refusal(directory_only(30_000, declared=1))
    assert message.startswith("the zip's list of entries takes 1.3 MiB; at most 1 MiB is allowed")


def test_an_ordinary_zip_still_passes_the_directory_check():
    files = [(f"beras/{rel}", b"pass\n") for rel in OWNED]
    intake = read_submission(zip_of(*files), OWNED)
    assert sorted(intake.files) == sorted(OWNED)
