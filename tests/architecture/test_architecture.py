"""The rules of ARCHITECTURE.md on today's tree: no import cycle, the planes apart, a pure harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture import imports

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"grader": ROOT / "grader", "worker": ROOT / "worker", "beras": ROOT / "reference" / "beras"}
# The places that compose a process from both planes: the app for `serve`, the CLI, the demo job.
COMPOSITION_POINTS = ("grader.app", "grader.cli", "grader.demo")


@pytest.fixture(scope="module")
def edges() -> list[imports.Import]:
    modules = imports.find_modules(PACKAGES)
    # Guards against a vacuous pass: the walk must have found the packages it checks.
    assert {"grader.harness.handles", "worker.sandbox.base", "beras.layers.dense"} <= modules.keys()
    return imports.read_imports(modules, ROOT)


def _refuse(found: list, headline: str, lines: list[str]) -> None:
    if found:  # the rule's own words and the offending lines, without pytest's repr of the list
        pytest.fail("\n".join([headline, *lines]), pytrace=False)


def test_no_import_cycle_between_modules(edges):
    # Lazy imports count (a cycle hidden in a function is still a cycle); TYPE_CHECKING ones never run.
    cycles = imports.find_cycles([edge for edge in edges if not edge.typing_only])
    _refuse(cycles, "modules import each other (move what both need into a module of its own):",
            [imports.describe_cycle(group, chain) for group, chain in cycles])


def test_no_import_cycle_between_packages(edges):
    # A dependency between packages is one however it is written, TYPE_CHECKING included.
    cycles = imports.find_cycles(imports.package_edges(edges))
    _refuse(cycles, "packages import each other (one of them must own the seam):",
            [imports.describe_cycle(group, chain) for group, chain in cycles])


def test_control_plane_never_imports_the_data_plane(edges):
    crossing = imports.cross_plane_imports(edges, COMPOSITION_POINTS)
    _refuse(crossing, "grader imports worker outside the composition points (grader/app.py, grader/cli/, "
            "grader/demo/); the control plane reaches the data plane only through the protocol it owns:",
            [f"    {edge}" for edge in crossing])


def test_harness_imports_only_stdlib_numpy_pytest_and_itself(edges):
    foreign = imports.foreign_harness_imports(edges)
    _refuse(foreign, "grader/harness runs inside the sandbox and may import only the standard library, "
            "numpy, pytest and grader.harness:", [f"    {edge}" for edge in foreign])
