"""write_submission: only the owned files, only inside a fresh job folder."""

from __future__ import annotations

import io
import zipfile

import pytest

from grader.intake import Intake, IntakeError, read_submission, write_submission, writer

OWNED = ("layers/dense.py", "activations.py", "losses.py")


def everything_under(folder) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*")}


def test_the_owned_files_of_a_zip_land_under_the_package_and_nothing_else_does(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("beras/layers/dense.py", b"class Dense: ...\n")
        archive.writestr("beras/losses.py", b"def mse(): ...\n")
        archive.writestr("beras/evil.py", b"import os\n")
        archive.writestr("run_me.sh", b"rm -rf /\n")
    job = tmp_path / "jobs" / "42"
    written = write_submission(read_submission(buffer.getvalue(), OWNED), job)
    assert written == [job.resolve() / "beras/layers/dense.py", job.resolve() / "beras/losses.py"]
    assert everything_under(job) == {"beras", "beras/layers", "beras/layers/dense.py", "beras/losses.py"}
    assert (job / "beras/layers/dense.py").read_bytes() == b"class Dense: ...\n"


def test_an_existing_empty_job_folder_is_used(tmp_path):
    write_submission(Intake({"losses.py": b"l"}, (), ()), tmp_path)
    assert (tmp_path / "beras/losses.py").read_bytes() == b"l"


def test_a_job_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path):
    (tmp_path / "beras").mkdir()
    (tmp_path / "beras/losses.py").write_bytes(b"earlier")
    with pytest.raises(FileExistsError, match="must not exist yet or be empty"):
        write_submission(Intake({"losses.py": b"new"}, (), ()), tmp_path)
    assert (tmp_path / "beras/losses.py").read_bytes() == b"earlier"


def test_a_job_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "job").write_text("")
    with pytest.raises(FileExistsError):
        write_submission(Intake({"losses.py": b"l"}, (), ()), tmp_path / "job")


@pytest.mark.parametrize("rel", ["../escape.py", "../../escape.py", "/tmp/escape.py", "a/../../escape.py",
                                 "a\\..\\..\\escape.py", "./losses.py", "layers//dense.py", "", "layers/"])
def test_a_hand_built_intake_with_an_unsafe_path_writes_nothing(tmp_path, rel):
    job = tmp_path / "job"
    with pytest.raises(IntakeError, match="not a plain relative path inside the job folder"):
        write_submission(Intake({"losses.py": b"l", rel: b"x"}, (), ()), job)
    assert everything_under(tmp_path) == set()


@pytest.mark.parametrize("package", ["..", "", "a/b", "/abs"])
def test_an_unsafe_package_name_is_refused(tmp_path, package):
    with pytest.raises(IntakeError, match="refusing to write package"):
        write_submission(Intake({"losses.py": b"l"}, (), (), package), tmp_path / "job")
    assert everything_under(tmp_path) == set()


def test_a_target_resolving_outside_the_job_folder_is_refused_even_past_the_name_check(tmp_path, monkeypatch):
    # Defence in depth: with the name check gone, resolving the target still keeps it inside.
    monkeypatch.setattr(writer, "_check_relative", lambda path, what: None)
    job = tmp_path / "job"
    with pytest.raises(IntakeError, match="resolves outside the job folder"):
        write_submission(Intake({"../../escape.py": b"x"}, (), ()), job)
    assert not (tmp_path / "escape.py").exists()
