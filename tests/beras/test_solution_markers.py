"""The reference's solution markers are balanced, unnested and mark what students write."""

from __future__ import annotations

import pathlib

import pytest

import beras

ROOT = pathlib.Path(beras.__file__).parent
SOURCES = sorted(ROOT.rglob("*.py"))
STUDENT_WORK = {  # files whose bodies students write: each must hold solution blocks
    "activations.py", "gradient_tape.py", "losses.py", "metrics.py", "model.py", "onehot.py",
    "optimizers.py", "layers/conv.py", "layers/dense.py", "layers/flatten.py", "layers/pooling.py",
    "layers/geometry.py",
}


def blocks(path: pathlib.Path) -> list[tuple[int, int]]:
    """Return (begin_line, end_line) pairs; fail on unbalanced or nested markers."""
    found, open_at = [], None
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        marker = line.strip()
        if marker == "# BEGIN SOLUTION":
            assert open_at is None, f"{path.name}:{number}: nested BEGIN SOLUTION (open since {open_at})"
            open_at = number
        elif marker == "# END SOLUTION":
            assert open_at is not None, f"{path.name}:{number}: END SOLUTION without BEGIN"
            found.append((open_at, number))
            open_at = None
    assert open_at is None, f"{path.name}:{open_at}: BEGIN SOLUTION never closed"
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_markers_are_balanced_and_not_nested(path):
    for begin, end in blocks(path):
        assert end > begin + 1, f"{path.name}:{begin}: empty solution block"


def test_student_files_hold_solution_blocks():
    missing = [name for name in sorted(STUDENT_WORK) if not blocks(ROOT / name)]
    assert missing == []
