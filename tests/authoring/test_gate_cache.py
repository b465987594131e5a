"""GRADER_GATE_CACHE: a byte-identical release reuses its passing report; any changed input, a refusal, a
damaged entry or the cache switched off runs the gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.authoring import gate_cache
from grader.authoring import release as release_module
from grader.authoring.release import release

TOY = Path(__file__).parent / "toy"


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    shutil.copytree(TOY, root)
    monkeypatch.setenv("GRADER_BLAST_CACHE", str(tmp_path / "blast"))
    monkeypatch.setenv(gate_cache.CACHE_ENV, str(tmp_path / "gates"))
    return root


@pytest.fixture
def gate_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The assignments the real gate ran on, in order (the cache answers the others)."""
    runs: list[str] = []
    real = release_module.run_gate

    def counted(assignment, *args, **kwargs):
        runs.append(assignment.name)
        return real(assignment, *args, **kwargs)

    monkeypatch.setattr(release_module, "run_gate", counted)
    return runs


def _release(root: Path, out: str, seed: int = 7):
    return release(root / "assignments" / "toy", root / out, reference_package=root / "reference" / "beras",
                   seed=seed)


def test_a_byte_identical_release_reuses_the_passing_report_and_ships_the_same_bytes(
        toy: Path, gate_runs: list[str]) -> None:
    first = _release(toy, "out1")
    second = _release(toy, "out2")
    assert gate_runs == ["toy"]
    assert first.report.ok and second.report.ok
    assert first.report.cached_from is None and second.report.cached_from
    assert [c.figure for c in second.report.checks] == [c.figure for c in first.report.checks]
    assert second.report.reference_times == pytest.approx(first.report.reference_times)
    assert second.starter_zip.read_bytes() == first.starter_zip.read_bytes()
    assert second.version == first.version
    assert "reused: the report of this byte-identical release, gated at" in second.report.format()
    manifest = json.loads((second.autograder_dir / "release.json").read_text())
    assert manifest["gate"]["cached_from"] == second.report.cached_from


def test_a_changed_test_a_changed_seed_or_the_cache_off_runs_the_gate(
        toy: Path, gate_runs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _release(toy, "out1")
    hidden = toy / "assignments/toy/hidden_tests/test_ops.py"
    hidden.write_text(hidden.read_text() + "\n# one more byte in a hidden test\n")
    assert _release(toy, "out2").report.cached_from is None
    assert _release(toy, "out3", seed=8).report.cached_from is None
    monkeypatch.setenv(gate_cache.CACHE_ENV, "off")
    assert _release(toy, "out4").report.cached_from is None
    assert gate_runs == ["toy"] * 4


def test_a_refused_report_is_never_kept(toy: Path, gate_runs: list[str]) -> None:
    ops = toy / "reference/beras/ops.py"
    ops.write_text(ops.read_text().replace("* 2.0", "* 3.0", 1))  # the reference now fails its own tests
    first, second = _release(toy, "out1"), _release(toy, "out2")
    assert not first.report.ok and not second.report.ok
    assert gate_runs == ["toy", "toy"]
    assert not list((toy.parent / "gates").glob("*.json"))


def test_a_damaged_entry_runs_the_gate_again(toy: Path, gate_runs: list[str]) -> None:
    _release(toy, "out1")
    (entry,) = (toy.parent / "gates").glob("*.json")
    entry.write_text('{"checks": [{"number": "x"')
    assert _release(toy, "out2").report.ok
    assert gate_runs == ["toy", "toy"]
