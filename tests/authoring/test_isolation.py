"""A draft or invalid assignment folder beside beras-mlp changes nothing of beras-mlp's release, and is
named."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from grader.authoring.config import AssignmentConfigError
from grader.authoring.release import _load, stage_release
from grader.service.assignment_folders import create_assignment
from grader.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _copy(target: Path) -> Path:
    """A copy of the repository's assignments/ and reference/ in ``target``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "assignments", target / "assignments", ignore=ignore)
    shutil.copytree(ROOT / "reference", target / "reference", ignore=ignore)
    return target


@pytest.fixture
def repo(tmp_path):
    return _copy(tmp_path)


@pytest.fixture(scope="module")
def before(tmp_path_factory):
    """beras-mlp's staged release with no other folder than the repository's."""
    root = _copy(tmp_path_factory.mktemp("pristine"))
    files, problems, _ = _staged(root, "beras-mlp", root / "stage")
    assert not problems
    return files


def _staged(repo: Path, name: str, where: Path) -> tuple[dict[str, bytes], list[str], list[str]]:
    """Every file of ``name``'s staged release (starter, autograder, graded stub), its problems and notes."""
    assignment, trees, test_ids = _load(repo / "assignments" / name, repo / "reference" / "beras")
    stage_release(assignment, trees, where, test_ids)
    files = {}
    for path in sorted(where.rglob("*")):
        if path.suffix == ".zip":  # the starter zip, by member: a member added or changed shows by name
            with zipfile.ZipFile(path) as archive:
                files.update({f"{path.name}!{info.filename}": archive.read(info)
                              for info in archive.infolist()})
        elif path.is_file():
            files[path.relative_to(where).as_posix()] = path.read_bytes()
    return files, trees.problems, trees.notes


def _web_draft(repo: Path, name: str) -> Path:
    settings = Settings(assignments_dir=repo / "assignments", reference=repo / "reference" / "beras",
                        data_dir=repo / "data")
    return create_assignment(settings, name, "A draft")


def test_the_web_scaffold_draft_leaves_beras_mlp_release_unchanged(repo, before, tmp_path):
    _web_draft(repo, "zz-draft")
    after, problems_after, notes = _staged(repo, "beras-mlp", tmp_path / "after")
    assert after == before
    assert not problems_after
    assert any("zz-draft" in note and "invalid" in note for note in notes), notes
    assert not any("beras-mlp" in note for note in notes), notes


def test_a_draft_that_is_not_toml_leaves_beras_mlp_release_unchanged(repo, before, tmp_path):
    draft = repo / "assignments" / "broken"
    (draft / "public_tests").mkdir(parents=True)
    (draft / "assignment.toml").write_text("name = 'broken\n[files\n")
    after, problems, notes = _staged(repo, "beras-mlp", tmp_path / "after")
    assert after == before
    assert not problems
    assert any(note.startswith("assignment broken is invalid") for note in notes), notes


def test_a_draft_claiming_beras_mlp_file_is_named_and_beras_mlp_still_builds(repo, tmp_path):
    """A valid draft that owns layers/dense.py too: beras-mlp (published) releases with a note naming the
    draft; the draft's own release is refused by an error on the draft's file."""
    from grader.authoring.build import ownership

    draft = _web_draft(repo, "zz-copy")
    toml = draft / "assignment.toml"
    toml.write_text(toml.read_text().replace("owned = []", 'owned = ["layers/dense.py"]'))
    (draft / "hidden_tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    reference = repo / "reference" / "beras"
    found = ownership(repo / "assignments", reference, "beras-mlp", published={"beras-mlp"})
    assert found.owners["layers/dense.py"] == "beras-mlp"
    assert any("zz-copy" in note for note in found.notes), found.notes
    with pytest.raises(AssignmentConfigError) as refused:
        ownership(repo / "assignments", reference, "zz-copy", published={"beras-mlp"})
    assert refused.value.path == draft / "assignment.toml"
    assert str(refused.value.problems[0]).startswith("zz-copy/assignment.toml")


def test_a_draft_with_its_own_marked_module_but_no_valid_toml_does_not_stop_beras_mlp(repo, before, tmp_path):
    """The draft's toml does not parse, so nothing can say it owns its new module: beras-mlp still builds."""
    draft = repo / "assignments" / "half"
    (draft / "hidden_tests").mkdir(parents=True)
    (draft / "assignment.toml").write_text("[files\nowned = ['layers/half.py']\n")
    (repo / "reference" / "beras" / "layers" / "half.py").write_text(
        '"""Half."""\n\n\ndef half(x):\n    """x / 2."""\n    # BEGIN SOLUTION\n    return x / 2.0\n'
        '    # END SOLUTION\n')
    after, problems, notes = _staged(repo, "beras-mlp", tmp_path / "after")
    assert not problems, problems
    assert "starter/beras-mlp-starter/beras/layers/half.py" in after
    assert {k: v for k, v in after.items() if "layers/half.py" not in k} == before
    assert "return x / 2.0" not in after["starter/beras-mlp-starter/beras/layers/half.py"].decode()
    assert any("layers/half.py" in note for note in notes), notes
