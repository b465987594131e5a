"""Where owned files sit in the zip: real zips, one top folder, clutter, matching, missing, none owned."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from grader.authoring.config import load_assignment
from grader.intake import NOT_OWNED, IntakeError, read_submission

OWNED = ("layers/dense.py", "activations.py", "losses.py")
ASSIGNMENT = Path(__file__).resolve().parents[2] / "assignments" / "beras-mlp"


def zip_of(*entries) -> bytes:
    """A deflated zip of ``(name or ZipInfo, content)`` pairs, in order; a name ending in / is a folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def source(rel: str) -> bytes:
    return f"# {rel}, written by a student\n".encode()


def refusal(data: bytes, owned=OWNED) -> str:
    with pytest.raises(IntakeError) as caught:
        read_submission(data, owned)
    return str(caught.value)


# ---- zips as students make them -----------------------------------------------------------------------

def test_a_zip_made_like_make_submission_is_taken_whole():
    owned = load_assignment(ASSIGNMENT).files.owned
    data = zip_of(*[(f"beras/{rel}", source(rel)) for rel in owned])
    intake = read_submission(data, owned)
    assert intake.files == {rel: source(rel) for rel in owned}
    assert intake.missing == () and intake.ignored == ()
    assert intake.summary() == f"{len(owned)} files taken: " + ", ".join(f"beras/{rel}" for rel in owned)


def _folder(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
    return info


def test_a_zip_made_by_macos_finder_is_taken():
    # Finder's "Compress my-work": one top folder, folder entries, .DS_Store, and __MACOSX shadows.
    data = zip_of(
        (_folder("my-work/"), b""), (_folder("my-work/beras/"), b""), (_folder("my-work/beras/layers/"), b""),
        ("my-work/beras/layers/dense.py", source("dense")), ("my-work/beras/activations.py", source("act")),
        ("my-work/.DS_Store", b"\0\0\0\1Bud1"), ("my-work/beras/.DS_Store", b"\0\0\0\1Bud1"),
        (_folder("__MACOSX/"), b""), (_folder("__MACOSX/my-work/"), b""),
        (_folder("__MACOSX/my-work/beras/"), b""),
        ("__MACOSX/my-work/beras/._activations.py", b"\0\5\26\7"),
        ("__MACOSX/my-work/._.DS_Store", b"\0\5\26\7"),
    )
    intake = read_submission(data, OWNED)
    assert intake.files == {"layers/dense.py": source("dense"), "activations.py": source("act")}
    assert intake.missing == ("losses.py",)
    assert dict(intake.ignored) == {
        "my-work/": "a folder", "my-work/beras/": "a folder", "my-work/beras/layers/": "a folder",
        "my-work/.DS_Store": "macOS Finder metadata", "my-work/beras/.DS_Store": "macOS Finder metadata",
        "__MACOSX/": "macOS Finder metadata", "__MACOSX/my-work/": "macOS Finder metadata",
        "__MACOSX/my-work/beras/": "macOS Finder metadata",
        "__MACOSX/my-work/beras/._activations.py": "macOS Finder metadata",
        "__MACOSX/my-work/._.DS_Store": "macOS Finder metadata",
    }
    assert intake.summary() == (
        "2 files taken: beras/layers/dense.py, beras/activations.py; missing: beras/losses.py; "
        "ignored: my-work/.DS_Store, my-work/beras/.DS_Store, __MACOSX/, __MACOSX/my-work/, "
        "__MACOSX/my-work/beras/ and 2 more (macOS Finder metadata)")


def test_a_windows_zip_with_backslashes_is_taken():
    data = zip_of(("beras\\layers\\dense.py", b"d"), ("beras\\activations.py", b"a"))
    assert read_submission(data, OWNED).files == {"layers/dense.py": b"d", "activations.py": b"a"}


def test_a_zip_of_the_package_contents_at_its_root_is_taken():
    data = zip_of(("layers/dense.py", b"d"), ("losses.py", b"l"), ("__init__.py", b""))
    intake = read_submission(data, OWNED)
    assert intake.files == {"layers/dense.py": b"d", "losses.py": b"l"}
    assert intake.ignored == (("__init__.py", NOT_OWNED),)


def test_one_owned_file_alone_in_its_subfolder_is_not_mistaken_for_a_wrapping_folder():
    assert read_submission(zip_of(("layers/dense.py", b"d")), OWNED).files == {"layers/dense.py": b"d"}


def test_a_wrapping_folder_around_the_package_contents_is_stripped():
    data = zip_of(("hw1/layers/dense.py", b"d"), ("hw1/losses.py", b"l"))
    assert read_submission(data, OWNED).files == {"layers/dense.py": b"d", "losses.py": b"l"}


def test_a_top_folder_named_like_the_package_is_not_stripped():
    data = zip_of(("beras/beras/losses.py", b"inner"), ("beras/losses.py", b"outer"))
    intake = read_submission(data, OWNED)
    assert intake.files == {"losses.py": b"outer"}
    assert intake.ignored == (("beras/beras/losses.py", NOT_OWNED),)


def test_only_one_wrapping_folder_is_stripped_and_the_refusal_says_where_the_files_are():
    message = refusal(zip_of(("Downloads/hw1/beras/losses.py", b"l"), ("Downloads/hw1/notes.md", b"")))
    assert "holds none of the files you write in this assignment" in message
    assert ("Your files are there but too deep (e.g. 'Downloads/hw1/beras/losses.py'): zip the beras "
            "folder itself, so that the zip holds beras/layers/dense.py") in message


def test_dot_slash_prefixes_are_accepted():
    assert read_submission(zip_of(("./beras/losses.py", b"l")), OWNED).files == {"losses.py": b"l"}


# ---- what is kept, ignored, missing -------------------------------------------------------------------

def test_files_are_kept_in_the_assignments_order_not_the_zips():
    data = zip_of(("beras/losses.py", b"l"), ("beras/activations.py", b"a"), ("beras/layers/dense.py", b"d"))
    assert list(read_submission(data, OWNED).files) == list(OWNED)


def test_files_not_owned_are_ignored_with_a_reason_the_student_can_read():
    data = zip_of(("beras/losses.py", b"l"), ("beras/data.py", b"x"), ("README.md", b"r"),
                  ("beras/layers/__init__.py", b""))
    intake = read_submission(data, OWNED)
    assert intake.ignored == (("beras/data.py", "not a file you own in this assignment"),
                              ("README.md", "not a file you own in this assignment"),
                              ("beras/layers/__init__.py", "not a file you own in this assignment"))
    assert intake.summary().endswith("ignored: beras/data.py, README.md, beras/layers/__init__.py "
                                     "(not a file you own in this assignment)")


def test_bytecode_is_ignored():
    data = zip_of(("beras/losses.py", b"l"), ("beras/__pycache__/losses.cpython-311.pyc", b"\xa7\r"),
                  ("beras/layers/dense.pyc", b"\xa7\r"), ("beras/__pycache__/losses.py", b"l"))
    intake = read_submission(data, OWNED)
    assert intake.files == {"losses.py": b"l"}
    assert {why for _, why in intake.ignored} == {"Python bytecode cache"}
    assert intake.missing == ("layers/dense.py", "activations.py")


def test_missing_owned_files_are_reported_not_refused():
    intake = read_submission(zip_of(("beras/activations.py", b"a")), OWNED)
    assert intake.missing == ("layers/dense.py", "losses.py")
    assert intake.summary() == ("1 file taken: beras/activations.py; "
                                "missing: beras/layers/dense.py, beras/losses.py")


def test_an_owned_file_both_in_and_outside_the_package_folder_is_refused_naming_both():
    message = refusal(zip_of(("beras/losses.py", b"1"), ("losses.py", b"2")))
    assert message == ("the zip holds your beras/losses.py twice: 'beras/losses.py' and 'losses.py'; keep "
                       "only one (at beras/losses.py) and make the zip again")


def test_a_zip_without_owned_files_lists_what_was_expected_and_the_first_names_found():
    data = zip_of(*[(f"project/file{index}.py", b"") for index in range(7)])
    message = refusal(data, owned=load_assignment(ASSIGNMENT).files.owned)
    assert message == (
        "the uploaded file holds none of the files you write in this assignment: expected "
        "beras/layers/dense.py, beras/activations.py, beras/losses.py, beras/gradient_tape.py, "
        "beras/optimizers.py and 3 more, at those paths inside the zip; it holds project/file0.py, "
        "project/file1.py, project/file2.py, project/file3.py, project/file4.py and 2 more")


def test_an_empty_zip_is_refused_saying_it_holds_no_files():
    assert refusal(zip_of((_folder("beras/"), b""))).endswith("; it holds no files at all")
    assert refusal(zip_of()).endswith("; it holds no files at all")


def test_a_zip_of_only_clutter_holds_none_of_the_owned_files():
    message = refusal(zip_of(("__MACOSX/beras/._losses.py", b""), ("beras/__pycache__/losses.pyc", b"")))
    assert "holds none of the files you write" in message
