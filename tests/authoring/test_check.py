"""``beras-grader check``'s logic without the CLI: the config sections, the graded sections, the verdict."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.check import Section, check_config, grade_sections, verdict
from grader.result import GradeResult

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FakeSample:
    name: str
    zip_bytes: bytes
    losing_groups: tuple[str, ...] | None


def _result(*scores: float, status: str = "graded") -> GradeResult:
    """A grade result with one test per group A, B, ... of 1 point each, scoring ``scores``."""
    tests = [{"name": f"t{i}", "score": s, "max_score": 1.0, "tags": [chr(65 + i)],
              "status": "passed" if s else "failed"} for i, s in enumerate(scores)]
    return GradeResult.from_json({"status": status, "score": sum(scores), "max_score": float(len(scores)),
                                  "tests": tests})


def test_grade_sections_grade_each_sample_once_and_the_reference_under_every_seed():
    graded: list[tuple[bytes, int]] = []
    results = {b"ref": _result(1, 1), b"start": _result(0, 0), b"bug": _result(0, 1)}

    def grade(zipped: bytes, seed: int) -> GradeResult:
        graded.append((zipped, seed))
        return results[zipped]

    batch = [FakeSample("reference", b"ref", ()), FakeSample("starter", b"start", None),
             FakeSample("bug", b"bug", ("A",))]
    sections = grade_sections(batch, [], grade, 2**31 - 1, 3)
    last = 2**31 - 1  # the seeds wrap round to 0
    assert graded == [(b"ref", last), (b"start", last), (b"bug", last), (b"ref", 0), (b"ref", 1)]
    samples, steady = sections
    assert samples.title == f"samples (seed {2**31 - 1})" and samples.ok
    assert samples.lines == ["reference: 2/2", "starter: 0/2", "bug: 1/2, lost A"]
    assert steady.ok and steady.title == f"reference under 3 seed(s) ({2**31 - 1}, 0, 1)"


def test_grade_sections_list_broken_samples_a_flaky_test_and_a_missing_sample_hint():
    runs = iter([_result(1, 1), _result(0, 0), _result(1, 0)])
    batch = [FakeSample("reference", b"ref", ()), FakeSample("starter", b"start", None)]
    broken, samples, steady = grade_sections(batch, ["x.toml: bug 1: gone"], lambda z, s: next(runs), 7, 2)
    assert broken == Section("samples/*.toml", False, ["x.toml: bug 1: gone"])
    assert samples.ok and "no samples/*.toml: plant a bug per group" in samples.lines[-1]
    assert not steady.ok and steady.lines[0] == "t1: seed 7 passed, seed 8 failed"
    assert "rng" in steady.lines[-1]


def test_the_verdict_ends_with_what_to_fix_or_all_well():
    text, ok = verdict([Section("config", True, ["owned: a.py"]), Section("points", False, ["no group"])])
    assert not ok
    assert text == "[  ok] config\n    owned: a.py\n[FAIL] points\n    no group\n\ncheck: fix: points"
    assert verdict([Section("config", True)]) == ("[  ok] config\n\ncheck: all well", True)


def test_check_config_stages_a_valid_assignment_and_stops_on_an_invalid_one(tmp_path):
    assignments = tmp_path / "assignments"
    shutil.copytree(ROOT / "assignments" / "beras-mlp", assignments / "beras-mlp")
    reference = ROOT / "reference" / "beras"
    (tmp_path / "ok").mkdir()
    sections, staged = check_config(assignments / "beras-mlp", reference, tmp_path / "ok")
    assert [section.ok for section in sections] == [True, True]
    assert sections[0].title == "config (beras-mlp)"
    assert sections[1].title.startswith("tests -> groups -> points")
    assert staged is not None and (staged / "test-ids.json").is_file()

    toml = assignments / "beras-mlp" / "assignment.toml"
    toml.write_text(toml.read_text().replace("memory_mb = ", "memroy_mb = "))
    (tmp_path / "bad").mkdir()
    sections, staged = check_config(assignments / "beras-mlp", reference, tmp_path / "bad")
    assert staged is None and len(sections) == 1 and sections[0].title == "config" and not sections[0].ok
    assert any("memroy_mb" in line for line in sections[0].lines)
