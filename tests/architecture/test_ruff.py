"""ruff, with the rules configured in pyproject.toml, over the whole repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ruff(*args: str, source: str | None = None) -> subprocess.CompletedProcess:
    # The ruff of this interpreter's environment (the `test` extra pins it), from the root so that
    # pyproject.toml's [tool.ruff] applies; --no-cache: a test run writes nothing into the tree.
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *args]
    return subprocess.run(command, cwd=ROOT, input=source, capture_output=True, text=True, timeout=300)


def test_ruff_check_passes():
    result = _ruff(".")
    if result.returncode != 0:  # ruff's own report, without pytest's repr of the process
        pytest.fail(
            "`ruff check .` found problems (`ruff check --fix .` sorts imports; wrap long lines by hand; "
            "ruff itself comes with the `test` extra):\n"
            f"{result.stdout}{result.stderr}", pytrace=False)


def test_ruff_applies_the_configured_rules():
    # A file planted (on stdin) where the project's code lives must break each configured rule family,
    # so a configuration that checked nothing could not pass the test above.
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(12))
    planted = f"import sys\nimport os\n\n\ndef f(x): \n{branches}    return {'0 + ' * 30}0\n"
    result = _ruff("--stdin-filename", "grader/planted.py", "-", source=planted)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("grader/planted.py:")]
    found = [line.split(" ")[1] for line in lines]
    assert set(found) == {"I001", "F401", "W291", "C901", "E501"}, result.stdout
