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


def stage_toys(root: Path) -> list[tuple[Path, Path]]:
    """``toy-gpu`` and ``toy-cpu`` staged under ``root``: each ``(autograder folder, starter zip)``.

    Staging takes seconds, so toy-cpu is toy-gpu's release copied, renamed and moved to the cpu queue.
    """
    gpu_autograder, gpu_starter = stage(toy_as(root, "toy-gpu", "gpu"), root / "out", "1")
    cpu_autograder = root / "out" / "toy-cpu-autograder"
    shutil.copytree(gpu_autograder, cpu_autograder)
    (cpu_autograder / "toy-gpu").rename(cpu_autograder / "toy-cpu")
    toml = cpu_autograder / "toy-cpu" / "assignment.toml"
    toml.write_text(toml.read_text().replace('name = "toy-gpu"\nqueue = "gpu"',
                                             'name = "toy-cpu"\nqueue = "cpu"'))
    cpu_starter = shutil.copy(gpu_starter, root / "out" / "toy-cpu-starter.zip")
    return [(gpu_autograder, gpu_starter), (cpu_autograder, Path(cpu_starter))]


def publish_toys(runtime, staged: list[tuple[Path, Path]]) -> None:
    """Publish the staged toys in ``runtime``'s database (tests may share the folders: they are only read)."""
    with runtime.sessions() as session:
        for autograder, starter in staged:
            publish(session, runtime.blobs, autograder, starter)
