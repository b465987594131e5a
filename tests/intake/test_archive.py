"""The zip and its entries: size cap, not a zip, damage, count, encryption, duplicates, names, types."""

from __future__ import annotations

import gzip
import io
import stat
import struct
import warnings
import zipfile

import pytest

from grader.intake import IntakeError, IntakeLimits, read_submission
from grader.intake.names import entry_path

OWNED = ("layers/dense.py", "activations.py", "losses.py")


def zip_of(*entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``(name or ZipInfo, content)`` pairs, in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def with_mode(name: str, mode: int) -> zipfile.ZipInfo:
    """A header for ``name`` carrying the Unix file type and permissions ``mode``."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = mode << 16
    return info


def refusal(source, owned=OWNED, **limits) -> str:
    """The message read_submission refuses ``source`` with."""
    with pytest.raises(IntakeError) as caught:
        read_submission(source, owned, IntakeLimits(**limits))
    return str(caught.value)


GOOD = zip_of(("beras/activations.py", b"def relu(x):\n    return x\n"))


# ---- the file itself ------------------------------------------------------------------------------------

def test_a_zip_over_the_size_cap_is_refused_with_both_sizes():
    message = refusal(GOOD + b"\0" * 2048, max_zip_bytes=2048)
    assert "the uploaded file is 2." in message and "at most 2 KiB" in message


def test_the_size_cap_on_a_path_is_checked_before_the_file_is_opened(tmp_path, monkeypatch):
    path = tmp_path / "submission.zip"
    path.write_bytes(b"not even a zip" * 100)
    monkeypatch.setattr(type(path), "open", lambda *args, **kwargs: pytest.fail("opened an oversized zip"))
    message = refusal(path, max_zip_bytes=1000)
    assert message.startswith("submission.zip is 1.4 KiB; a submission zip may be at most 1000 bytes")


def test_a_good_zip_read_from_a_path_is_taken(tmp_path):
    path = tmp_path / "submission.zip"
    path.write_bytes(GOOD)
    assert read_submission(path, OWNED).files == {"activations.py": b"def relu(x):\n    return x\n"}


def test_a_path_that_cannot_be_read_is_an_intake_error(tmp_path):
    assert "cannot read the submission nothing.zip" in refusal(tmp_path / "nothing.zip")


@pytest.mark.parametrize("data, found", [
    (b"print('hello')\n", ""),
    (gzip.compress(b"beras"), " (it looks like a gzip (.gz / .tar.gz) file)"),
    (b"Rar!\x1a\x07\x00" + b"\0" * 50, " (it looks like a RAR archive)"),
])
def test_bytes_that_are_not_a_zip_are_named_so(data, found):
    assert refusal(data).startswith(f"the uploaded file is not a zip archive{found}; submit a .zip file")


def test_a_path_that_is_not_a_zip_names_the_file(tmp_path):
    path = tmp_path / "dense.py"
    path.write_text("class Dense: ...\n")
    assert refusal(path).startswith("dense.py is not a zip archive")


def test_empty_bytes_are_not_a_zip():
    assert refusal(b"").startswith("the uploaded file is empty, not a zip archive")


@pytest.mark.parametrize("cut", [10, len(GOOD) // 2, len(GOOD) - 5])
def test_a_truncated_zip_is_refused_as_damaged(cut):
    message = refusal(GOOD[:cut])
    assert "is a damaged or incomplete zip archive" in message and "Traceback" not in message


def test_a_corrupt_central_directory_is_refused_as_damaged():
    data = GOOD.replace(b"PK\x01\x02", b"XX\x01\x02")
    assert refusal(data).startswith("the uploaded file is a damaged or incomplete zip archive")


def test_a_corrupt_local_header_is_refused_as_damaged():
    data = GOOD.replace(b"PK\x03\x04", b"XX\x03\x04")
    assert refusal(data).startswith("'beras/activations.py' in the zip is damaged")


def test_a_bad_crc_in_a_stored_entry_is_refused_as_damaged():
    content = b"def relu(x):\n    return x\n"
    data = bytearray(zip_of(("beras/activations.py", content), compression=zipfile.ZIP_STORED))
    data[data.index(content) + 4] ^= 0x01  # one bit of one byte
    message = refusal(bytes(data))
    assert message.startswith("'beras/activations.py' in the zip is damaged")
    assert "make the zip again" in message


def test_corrupt_deflate_data_is_refused_as_damaged():
    content = b"import numpy as np\n" * 40
    data = bytearray(zip_of(("beras/losses.py", content)))
    start = data.index(b"beras/losses.py") + len("beras/losses.py")  # right after the local header's name
    data[start:start + 8] = b"\xff" * 8
    assert refusal(bytes(data)).startswith("'beras/losses.py' in the zip is damaged")


# ---- the entries --------------------------------------------------------------------------------------

def test_more_entries_than_the_cap_are_refused():
    data = zip_of(*[(f"beras/extra{index}.py", b"") for index in range(4)])
    assert refusal(data, max_entries=3).startswith("the zip has 4 entries; at most 3 are allowed")


def test_an_encrypted_entry_is_refused():
    # zipfile cannot encrypt; setting the flag in both headers is what an encrypting tool leaves.
    data = bytearray(zip_of(("beras/activations.py", b"x = 1\n")))
    data[data.index(b"PK\x03\x04") + 6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    message = refusal(bytes(data))
    assert message == ("'beras/activations.py' in the zip is password-protected; make the zip again "
                       "without a password")


def test_a_name_twice_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate it writes
        data = zip_of(("beras/losses.py", b"a"), ("beras/losses.py", b"b"))
    assert refusal(data).startswith("the zip holds 'beras/losses.py' twice")


def test_two_spellings_of_one_path_are_refused_naming_both():
    data = zip_of(("beras/losses.py", b"a"), ("beras\\losses.py", b"b"))
    assert refusal(data).startswith("the zip holds both 'beras/losses.py' and 'beras\\\\losses.py', "
                                    "which name the same file")


@pytest.mark.parametrize("name", ["/etc/x", "C:\\x", "c:/x", "C:x", "\\\\server\\x", "//server/x"])
def test_absolute_paths_are_refused(name):
    message = refusal(zip_of((name, b"x"), ("beras/losses.py", b"")))
    assert message.startswith(f"the zip has an entry with an absolute path: {name!r}")


@pytest.mark.parametrize("name", ["../x.py", "beras/../../x.py", "beras\\..\\..\\x.py", "..", "beras/.."])
def test_paths_going_up_are_refused(name):
    message = refusal(zip_of(("beras/losses.py", b""), (name, b"x")))
    assert message.startswith(f"the zip has an entry whose path goes up a folder ('..'): {name!r}")


def test_an_empty_name_is_refused():
    # zipfile cannot write an empty name: write "X", then cut it out of both headers.
    data = bytearray(zip_of(("X", b"x"), compression=zipfile.ZIP_STORED))
    central, end = data.index(b"PK\x01\x02"), data.index(b"PK\x05\x06")
    data[central + 28] = data[26] = 0  # the name lengths in the central and the local header
    struct.pack_into("<II", data, end + 12, end - central - 1, central - 1)  # directory size, offset
    del data[central + 46]
    del data[30]
    assert "an entry with an empty name" in refusal(bytes(data))


def test_a_name_of_only_dots_and_slashes_is_refused():
    assert "names no file or folder: './'" in refusal(zip_of(("./", b"")))


def _renamed(data: bytes, placeholder: bytes, replacement: bytes) -> bytes:
    """The zip with a name's bytes replaced in both its local and its central header."""
    assert data.count(placeholder) == 2 and len(placeholder) == len(replacement)
    return data.replace(placeholder, replacement)


@pytest.mark.parametrize("raw, shown", [(b"\x00", "\\x00"), (b"\x07", "\\x07"), (b"\x1b", "\\x1b"),
                                        (b"\x7f", "\\x7f")])
def test_names_with_control_characters_or_nul_are_refused(raw, shown):
    data = _renamed(zip_of(("beras/lossesX.py", b"")), b"lossesX", b"losses" + raw)
    message = refusal(data)
    assert message.startswith("the zip has an entry whose name contains a control character: "
                              f"'beras/losses{shown}.py'")


def test_a_name_marked_utf8_that_does_not_decode_is_refused():
    data = _renamed(zip_of(("beras/caf\u00e9.py", b"")), "caf\u00e9".encode(), b"caf\xc3(")
    assert "holds a file name that is marked as UTF-8 but is not valid UTF-8" in refusal(data)


def test_cp437_names_decode_and_are_reported_as_ignored():
    data = _renamed(zip_of(("beras/notesX.txt", b""), ("beras/losses.py", b"")), b"notesX", b"notes\x82")
    intake = read_submission(data, OWNED)
    assert intake.ignored == (("beras/notes\u00e9.txt", "not a file you own in this assignment"),)


def test_a_lone_surrogate_in_a_name_is_refused():
    with pytest.raises(IntakeError, match="an undecodable byte"):
        entry_path("beras/losses\udcff.py")


@pytest.mark.parametrize("mode, kind", [
    (stat.S_IFLNK | 0o777, "a symbolic link"),
    (stat.S_IFIFO | 0o644, "a named pipe (FIFO)"),
    (stat.S_IFCHR | 0o644, "a device file"),
    (stat.S_IFBLK | 0o644, "a device file"),
    (stat.S_IFSOCK | 0o644, "a socket"),
])
def test_anything_but_regular_files_and_folders_is_refused(mode, kind):
    data = zip_of((with_mode("beras/losses.py", mode), b"/etc/passwd"))
    message = refusal(data)
    assert message.startswith(f"'beras/losses.py' in the zip is {kind}; only regular files and folders may "
                              "be submitted.")
    assert message.endswith("Zip the file itself, not a link to it") == (kind == "a symbolic link")


def test_regular_files_folders_and_untyped_entries_are_accepted():
    data = zip_of((with_mode("beras/", stat.S_IFDIR | 0o755), b""),
                  (with_mode("beras/layers", stat.S_IFDIR | 0o755), b""),  # a folder without the slash
                  (with_mode("beras/losses.py", stat.S_IFREG | 0o644), b"l"),
                  (with_mode("beras/activations.py", 0), b"a"))  # Windows tools store no Unix mode
    intake = read_submission(data, OWNED)
    assert intake.files == {"activations.py": b"a", "losses.py": b"l"}
    assert intake.ignored == (("beras/", "a folder"), ("beras/layers", "a folder"))
