"""Zip bombs and size caps: declared sizes and ratios, lying headers, bounded reads, the total."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from grader.intake import IntakeError, IntakeLimits, read_submission
from grader.intake.archive import vet_entries
from grader.intake.layout import locate_owned
from grader.intake.reading import read_bounded, read_kept

OWNED = ("layers/dense.py", "activations.py", "losses.py")
ZEROS = b"\0" * 2**20  # deflates about 1000 to 1


def zip_of(*entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``(name, content)`` pairs, in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def refusal(source, **limits) -> str:
    """The message read_submission refuses ``source`` with."""
    with pytest.raises(IntakeError) as caught:
        read_submission(source, OWNED, IntakeLimits(**limits))
    return str(caught.value)


def test_a_kept_entry_over_the_ratio_is_refused_from_its_header():
    message = refusal(zip_of(("beras/losses.py", ZEROS)))
    assert message.startswith("'beras/losses.py' unzips from 1 KiB to 1 MiB, more than 200 times its size: "
                              "this looks like a zip bomb")


def test_the_ratio_is_not_checked_on_ignored_entries_that_are_never_unzipped():
    intake = read_submission(zip_of(("beras/losses.py", b"x = 1\n"), ("data/zeros.npy", ZEROS)), OWNED)
    assert intake.files == {"losses.py": b"x = 1\n"}
    assert ("data/zeros.npy", "not a file you own in this assignment") in intake.ignored


def test_small_repetitive_files_under_the_ratio_floor_are_taken():
    content = b"#" * 60_000  # compresses ~600 to 1, but is small
    assert read_submission(zip_of(("beras/losses.py", content)), OWNED).files["losses.py"] == content


def test_a_kept_entry_declaring_more_than_the_file_cap_is_refused():
    message = refusal(zip_of(("beras/losses.py", bytes(range(256)) * 8)), max_file_bytes=1000)
    assert message == ("'beras/losses.py' is over 1000 bytes when unzipped; a submitted file may be at "
                       "most 1000 bytes")


def test_a_file_exactly_at_the_cap_is_taken():
    content = bytes(range(250)) * 4
    intake = read_submission(zip_of(("beras/losses.py", content)), OWNED, IntakeLimits(max_file_bytes=1000))
    assert intake.files["losses.py"] == content


def test_kept_files_over_the_total_cap_are_refused():
    data = zip_of(*[(f"beras/{rel}", bytes(range(200)) * 3) for rel in OWNED])
    message = refusal(data, max_total_bytes=1500)
    assert message == ("the files you submitted add up to over 1.5 KiB when unzipped; at most 1.5 KiB "
                       "are allowed")


def test_a_header_understating_the_size_is_caught_when_read():
    # The central directory says 100 bytes; the stream inflates to 1 MiB: the read fails its check.
    data = bytearray(zip_of(("beras/losses.py", ZEROS)))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size field
        struct.pack_into("<I", data, data.index(signature) + offset, 100)
    message = refusal(bytes(data))
    assert message.startswith("'beras/losses.py' in the zip is damaged")


def test_the_read_enforces_the_file_cap_without_the_header_checks():
    # The headers are not trusted: skip check_declared, as a lie it could not see would, and
    # the read itself stops one byte past the cap.
    with zipfile.ZipFile(io.BytesIO(zip_of(("beras/losses.py", b"y" * 5000)))) as archive:
        layout = locate_owned(vet_entries(archive, IntakeLimits()), OWNED, "beras")
        with pytest.raises(IntakeError, match=r"^'beras/losses.py' is over 1000 bytes when unzipped"):
            read_kept(archive, layout.kept, IntakeLimits(max_file_bytes=1000))


class Endless(io.RawIOBase):
    """A stream that never ends, counting what was read from it."""

    def __init__(self):
        self.given = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        buffer[:] = b"\0" * len(buffer)
        self.given += len(buffer)
        return len(buffer)


def test_read_bounded_stops_one_byte_past_the_limit():
    stream = Endless()
    assert read_bounded(stream, 100_000) is None
    assert stream.given == 100_001


@pytest.mark.parametrize("size", [0, 1, 99_999, 100_000])
def test_read_bounded_returns_content_up_to_the_limit(size):
    assert read_bounded(io.BytesIO(b"a" * size), 100_000) == b"a" * size


def test_a_zero_compressed_size_declaring_content_is_a_bomb():
    data = bytearray(zip_of(("beras/losses.py", ZEROS)))
    struct.pack_into("<I", data, data.index(b"PK\x01\x02") + 20, 0)  # compressed size
    assert "this looks like a zip bomb" in refusal(bytes(data))


@pytest.mark.parametrize("field, value", [("max_entries", 0), ("max_ratio", -1.0), ("ratio_floor_bytes", -1)])
def test_limits_must_be_positive(field, value):
    with pytest.raises(ValueError, match=field):
        IntakeLimits(**{field: value})
