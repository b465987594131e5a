"""`beras-grader grade`: a zip (table, --json, exit status), a refused zip, bad arguments, a folder (CSV)."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from grader.cli import app
from tests.grading.conftest import ASSIGNMENTS, REFERENCE, submission

runner = CliRunner()


def _grade(*args):
    return runner.invoke(app, ["grade", *args, "--sandbox", "local", "--assignments-dir", str(ASSIGNMENTS),
                               "--reference", str(REFERENCE)])


def test_grade_a_zip_prints_the_table_and_writes_json(mlp, local_sandbox, tmp_path):
    zip_path = tmp_path / "alice.zip"
    zip_path.write_bytes(submission(mlp, drop=("beras/onehot.py",)))
    out = tmp_path / "alice.json"
    result = _grade(str(mlp.root), str(zip_path), "--json", str(out), "--seed", "4")
    assert result.exit_code == 0, result.output
    assert "Total:" in result.output and "FAIL" in result.output and "seed 4" in result.output
    data = json.loads(out.read_text())
    assert data["status"] == "graded" and 0 < data["score"] < data["max_score"] and data["seed"] == 4


def test_grade_by_assignment_name_stages_it(local_sandbox, tmp_path, mlp):
    zip_path = tmp_path / "ref.zip"
    zip_path.write_bytes(submission(mlp))
    result = _grade("beras-mlp", str(zip_path), "-q")
    assert result.exit_code == 0, result.output
    assert "graded 100/100" in result.output


def test_refused_zip_exits_1_with_the_reason(mlp, local_sandbox, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    result = _grade(str(mlp.root), str(bad))
    assert result.exit_code == 1
    assert "not a zip archive" in result.output


def test_bad_arguments_exit_2(mlp, tmp_path):
    assert _grade(str(mlp.root), str(tmp_path / "nope.zip")).exit_code == 2
    result = _grade("no-such-assignment", str(tmp_path))
    assert result.exit_code == 2 and "no assignment" in result.output
    assert runner.invoke(app, ["grade", str(mlp.root), str(tmp_path), "--sandbox", "nosuch"]).exit_code == 3


def test_grade_a_folder_writes_a_csv(mlp, local_sandbox, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.zip").write_bytes(submission(mlp))
    (folder / "b.zip").write_bytes(b"garbage")
    (folder / "c.zip").write_bytes(submission(mlp, drop=("beras/losses.py",)))
    result = _grade(str(mlp.root), str(folder), "--jobs", "2", "--json", str(tmp_path / "json"))
    assert result.exit_code == 0, result.output
    rows = {row["submission"]: row for row in csv.DictReader((folder / "grades.csv").open())}
    assert rows["a.zip"]["status"] == "graded" and float(rows["a.zip"]["score"]) == 100.0
    assert rows["b.zip"]["status"] == "rejected" and "not a zip" in rows["b.zip"]["message"]
    assert 0 < float(rows["c.zip"]["score"]) < 100.0
    assert sorted(p.name for p in (tmp_path / "json").iterdir()) == ["a.json", "b.json", "c.json"]


def test_a_folder_batch_survives_one_submission_whose_grader_fails(mlp, tmp_path, monkeypatch):
    """An unexpected failure of the grader on one zip is that zip's 'error' row, not the batch's traceback."""
    import worker.sandbox as sandbox_module
    from worker.sandbox import Sandbox

    class Failing(Sandbox):
        name = "failing"

        def check(self) -> None:
            pass

        def run(self, job_dir, out_dir, limits):
            raise RuntimeError("Docker said 409: removal already in progress")

    monkeypatch.setattr(sandbox_module, "choose_sandbox", lambda name: Failing())
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("a.zip", "b.zip"):
        (folder / name).write_bytes(submission(mlp))
    result = runner.invoke(app, ["grade", str(mlp.root), str(folder), "--jobs", "2"])
    assert result.exit_code == 3, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    rows = list(csv.DictReader((folder / "grades.csv").open()))
    assert [(r["submission"], r["status"]) for r in rows] == [("a.zip", "error"), ("b.zip", "error")]
    assert "RuntimeError: Docker said 409" in rows[0]["message"]
