"""The authoring loop on the command line: new, check, release of a fresh scaffold; archive and delete."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.authoring import ripple
from grader.authoring.check import flaky_tests, sample_line
from grader.authoring.release import _load, _zip_tree, stage_release
from grader.cli import app
from grader.result import GradeResult
from tests.grading.conftest import require_local_sandbox

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _clone(target: Path) -> Path:
    """What a clean clone holds for authoring: assignments/ and reference/ (caches left out)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    shutil.copytree(ROOT / "assignments", target / "assignments", ignore=ignore)
    shutil.copytree(ROOT / "reference", target / "reference", ignore=ignore)
    return target


def _starter_zip(repo: Path, name: str, out: Path) -> Path:
    """``name``'s starter zip as a release writes it, built without the gate (a stand-in for a published
    one)."""
    assignment, trees, test_ids = _load(repo / "assignments" / name, repo / "reference" / "beras")
    layout = stage_release(assignment, trees, repo / f"stage-{name}", test_ids)
    out.mkdir(parents=True, exist_ok=True)
    _zip_tree(layout.starter_root, out / f"{name}-starter.zip")
    return out / f"{name}-starter.zip"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    _clone(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_new_then_check_then_release_from_a_clean_clone(repo):
    """The scaffold passes check and the whole gate; a published beras-cnn starter gets a ripple note."""
    require_local_sandbox()
    _starter_zip(repo, "beras-cnn", repo / "out")  # beras-cnn as published before `new` touched the reference
    made = runner.invoke(app, ["new", "beras-scale"])
    assert made.exit_code == 0, made.output
    assert (repo / "reference/beras/layers/beras_scale.py").is_file()
    assert "# BEGIN SOLUTION" in (repo / "reference/beras/layers/beras_scale.py").read_text()
    for rel in ("assignment.toml", "README.md", "samples/planted-bug.toml"):
        assert (repo / "assignments/beras-scale" / rel).is_file(), rel

    checked = runner.invoke(app, ["check", "beras-scale", "--seeds", "2", "--seed", "5",
                                  "--sandbox", "local"])
    assert checked.exit_code == 0, checked.output
    assert "reference: 10/10" in checked.output
    assert "starter: 0/10" in checked.output
    assert "planted-bug: 2/10, lost Hidden tests" in checked.output
    assert "check: all well" in checked.output

    released = runner.invoke(app, ["release", "beras-scale", "--out", "out", "--seed", "3"])
    assert released.exit_code == 0, released.output
    assert "Release passed" in released.output
    assert (repo / "out/beras-scale-starter.zip").is_file()
    ripple_notes = [line for line in released.output.splitlines() if "changes beras-cnn's starter" in line]
    assert len(ripple_notes) == 1, released.output
    assert "layers/beras_scale.py added" in ripple_notes[0] and "__init__.py changed" in ripple_notes[0]
    assert "re-release beras-cnn" in ripple_notes[0]


def test_new_refuses_an_existing_or_invalid_name(repo):
    existing = runner.invoke(app, ["new", "beras-mlp"])
    assert existing.exit_code == 2
    assert "assignment 'beras-mlp' exists already" in existing.output
    for bad in ("Beras_X", "x_y", "x/y", "9lives", "a" * 61):
        refused = runner.invoke(app, ["new", bad])
        assert refused.exit_code == 2, bad
        assert "cannot name an assignment" in refused.output
    outside = runner.invoke(app, ["new", "beras-x", "--owns", "../evil.py"])
    assert outside.exit_code == 2 and "--owns '../evil.py'" in outside.output
    assert not (repo / "assignments/beras-x").exists()


def test_new_with_an_existing_owned_file_writes_placeholder_tests_that_fail(repo):
    made = runner.invoke(app, ["new", "beras-redo", "--owns", "layers/flatten.py"])
    assert made.exit_code == 0, made.output
    init = (repo / "reference/beras/__init__.py").read_text()
    assert init == (ROOT / "reference/beras/__init__.py").read_text()  # nothing exported, nothing written
    hidden = next((repo / "assignments/beras-redo/hidden_tests").glob("test_*.py")).read_text()
    assert "raise AssertionError" in hidden


def test_check_names_a_sample_whose_planted_bug_costs_other_groups_and_exits_1(repo):
    require_local_sandbox()
    assert runner.invoke(app, ["new", "beras-scale"]).exit_code == 0
    sample = repo / "assignments/beras-scale/samples/planted-bug.toml"
    sample.write_text(sample.read_text().replace('groups = ["Hidden tests"]', 'groups = ["Sanity checks"]'))
    (sample.parent / "stale.toml").write_text('description = "x"\n[[bugs]]\nfile = "layers/beras_scale.py"\n'
                                              'find = "no such text"\nreplace = "y"\ngroups = []\n')
    checked = runner.invoke(app, ["check", "beras-scale", "--seeds", "1", "--seed", "5",
                                  "--sandbox", "local"])
    assert checked.exit_code == 1, checked.output
    assert "declared but not lost (a test too weak to catch the bug?): Sanity checks" in checked.output
    assert "lost but not declared" in checked.output and "Hidden tests" in checked.output
    assert "stale.toml: bug 1: the text to replace occurs 0 times" in checked.output


def test_check_reports_config_problems_field_by_field_and_bad_options_with_2(repo):
    toml = repo / "assignments/beras-cnn/assignment.toml"
    toml.write_text(toml.read_text().replace("memory_mb = ", "memroy_mb = "))
    checked = runner.invoke(app, ["check", "beras-cnn", "--sandbox", "local"])
    assert checked.exit_code == 1, checked.output
    assert "limits.memroy_mb: unknown key" in checked.output and "did you mean 'memory_mb'" in checked.output
    assert runner.invoke(app, ["check", "beras-cnn", "--seeds", "0"]).exit_code == 2
    assert runner.invoke(app, ["check", "beras-cnn", "--sandbox", "vm"]).exit_code == 2
    missing = runner.invoke(app, ["check", "no-such"])
    assert missing.exit_code == 2 and "no assignment at assignments/no-such" in missing.output


def test_check_reports_a_points_pattern_that_matches_nothing_before_grading(repo):
    assert runner.invoke(app, ["new", "beras-scale"]).exit_code == 0
    (repo / "assignments/zz-draft").mkdir()
    (repo / "assignments/zz-draft/assignment.toml").write_text("[files\n")  # another folder's problem: a note
    toml = repo / "assignments/beras-scale/assignment.toml"
    toml.write_text(toml.read_text().replace('tests = ["hidden_tests/*"]', 'tests = ["hiden_tests/*"]'))
    checked = runner.invoke(app, ["check", "beras-scale", "--sandbox", "local"])
    assert checked.exit_code == 1, checked.output
    assert "matched by no [[points]] group" in checked.output
    assert "group 'Hidden tests' matches no test" in checked.output
    assert "note: assignment zz-draft is invalid" in checked.output
    assert "samples" not in checked.output  # nothing was graded


def test_flaky_tests_name_each_test_whose_outcome_differs_by_seed():
    def run(*statuses):
        return GradeResult.from_json({"tests": [{"name": f"t{i}", "status": s}
                                                for i, s in enumerate(statuses)]})

    flaky = flaky_tests([(1, run("passed", "passed")), (2, run("passed", "failed")),
                         (3, run("passed", "passed"))])
    assert flaky == ["t1: seed 1 passed, seed 2 failed, seed 3 passed"]
    assert flaky_tests([(1, run("passed")), (2, run("passed"))]) == []


def test_a_sample_line_says_which_groups_were_declared_and_which_were_lost():
    result = GradeResult.from_json({"status": "graded", "score": 8, "max_score": 10, "tests": [
        {"name": "a", "score": 0, "max_score": 2, "tags": ["A"]}, {"name": "b", "score": 8, "max_score": 8,
                                                                    "tags": ["B"]}]})
    assert sample_line("bug", ["A"], result) == (True, "bug: 8/10, lost A")
    ok, line = sample_line("bug", ["B"], result)
    assert not ok and "declared but not lost (a test too weak to catch the bug?): B" in line
    assert sample_line("reference", (), result)[0] is False
    assert sample_line("starter", None, result)[0] is False
    not_graded = GradeResult.from_json({"status": "error", "output": "boom\nmore"})
    assert sample_line("x", (), not_graded) == (False, "x: not graded (error): boom")


def test_ripple_lists_nothing_when_the_reference_did_not_change_and_the_files_when_it_did(repo):
    zipped = _starter_zip(repo, "beras-cnn", repo / "out")
    published = ripple.zips_in(repo / "out")
    assert set(published) == {"beras-cnn"}
    reference = repo / "reference/beras"
    assert ripple.notes(repo / "assignments", reference, "beras-mlp", published) == []
    activations = reference / "activations.py"
    activations.write_text(activations.read_text() + "\n# a comment a TA added\n")
    notes = ripple.notes(repo / "assignments", reference, "beras-mlp", published)
    assert notes == [f"this reference changes beras-cnn's starter (published {zipped}): activations.py "
                     "changed; re-release beras-cnn so its students get the same files it grades with"]
    assert ripple.notes(repo / "assignments", reference, "beras-cnn", published) == []  # its own release
    with zipfile.ZipFile(zipped) as archive:
        assert any(name.endswith("/beras/activations.py") for name in archive.namelist())


def test_archive_moves_the_folder_out_of_sight_and_delete_removes_a_draft(repo, monkeypatch):
    monkeypatch.setenv("GRADER_DATA_DIR", str(repo / "data"))  # no database here: nothing is published
    assert runner.invoke(app, ["new", "beras-scale"]).exit_code == 0
    archived = runner.invoke(app, ["archive", "beras-scale"])
    assert archived.exit_code == 0, archived.output
    assert not (repo / "assignments/beras-scale").exists()
    moved = list((repo / "assignments/.archive").glob("beras-scale-*"))
    assert len(moved) == 1 and (moved[0] / "assignment.toml").is_file()
    from grader.authoring.config import discover_assignments

    assert "beras-scale" not in discover_assignments(repo / "assignments")
    assert ".archive" not in discover_assignments(repo / "assignments")

    shutil.copytree(moved[0], repo / "assignments/beras-scale")
    deleted = runner.invoke(app, ["delete", "beras-scale"])
    assert deleted.exit_code == 0, deleted.output
    assert not (repo / "assignments/beras-scale").exists()
    assert not list((repo / "assignments").glob(".delete-*"))
    gone = runner.invoke(app, ["delete", "beras-scale"])
    assert gone.exit_code == 2 and "no assignment 'beras-scale'" in gone.output


def test_delete_refuses_an_assignment_the_database_says_is_published(repo, monkeypatch):
    from grader.db import Assignment, AssignmentVersion
    from grader.runtime import Runtime
    from grader.settings import Settings

    monkeypatch.setenv("GRADER_DATA_DIR", str(repo / "data"))
    runtime = Runtime(Settings(data_dir=repo / "data"))
    runtime.migrate()
    with runtime.sessions() as session:
        row = Assignment(name="beras-cnn", title="CNN")
        session.add(row)
        session.flush()
        version = AssignmentVersion(assignment_id=row.id, version="v1", autograder_path="x",
                                    starter_sha256="0" * 64, queue="cpu", max_score=100.0, gate_report={})
        session.add(version)
        session.flush()
        row.current_version_id = version.id
        session.commit()
    refused = runner.invoke(app, ["delete", "beras-cnn"])
    assert refused.exit_code == 2
    assert "'beras-cnn' is published" in refused.output and "archive it instead" in refused.output
    assert (repo / "assignments/beras-cnn/assignment.toml").is_file()
