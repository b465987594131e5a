"""The toy assignment released twice without the gate: ``toy-gpu`` (``queue = "gpu"``) and ``toy-cpu``."""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.service.releases import publish
from tests.service.staged import TOY, TOY_REFERENCE, stage
from worker.grading.samples import build_zip

# The reference's ops.py: full marks (2 public + 8 hidden points).
CORRECT = build_zip({"beras/ops.py": (TOY_REFERENCE / "ops.py").read_text()})


def toy_as(root: Path, name: str, queue: str) -> Path:
    """A copy of the toy assignment named ``name`` on ``queue``, under ``root/assignments``."""
    folder = root / "assignments" / name
    shutil.copytree(TOY / "assignments" / "toy", folder, ignore=shutil.ignore_patterns("__pycache__"))
    toml = folder / "assignment.toml"
    toml.write_text(toml.read_text().replace('name = "toy"\n', f'name = "{name}"\nqueue = "{queue}"\n', 1))
    return folder


def publish_toys(runtime, root: Path) -> None:
    """Publish ``toy-gpu`` and ``toy-cpu`` in ``runtime``'s database."""
    with runtime.sessions() as session:
        for name, queue in (("toy-gpu", "gpu"), ("toy-cpu", "cpu")):
            publish(session, runtime.blobs, *stage(toy_as(root, name, queue), root / "out" / name, "1"))
