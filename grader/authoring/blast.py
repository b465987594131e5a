"""The blast radius: what one unit's bug costs, measured by grading the reference with only that unit stubbed.

A grade is fair when a bug costs the points of its own unit and of the groups that declare
that unit as a dependency, once. For each unit students write (``units.Unit``: a function
with solution code), the release gate renders the reference with only that unit's code
replaced by the student stub (``raise NotImplementedError``), grades it, and records which
points groups lose points. A group may lose points to a unit it grades (``units`` in its
``[[points]]`` table) or declares (``depends_on``); any other loss is refused.

Cost: one run per unit, but only of the tests that entered the unit's function in the
reference run (``--trace-calls``: a test that never calls a function cannot be changed by its
body, as long as tests share no state beyond their fixtures, whose set-up counts for every test
using them). Code outside functions (a class or module body) runs at import: its units rerun
every test. Each unit's outcome is cached under a digest of everything that decides it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.authoring.build import Trees
from grader.authoring.config import Assignment
from grader.authoring.stubs import render_one_stubbed
from grader.authoring.suite import SuiteRun
from grader.authoring.units import Unit, units_of

CACHE_ENV = "GRADER_BLAST_CACHE"  # a folder, or "off"
CACHE_FORMAT = "blast-1"
_SKIPPED = {"__pycache__", ".pytest_cache"}


@dataclass
class UnitOutcome:
    """What stubbing one unit cost.

    Attributes:
        unit: ``<file>::<qualname>``.
        tests_run: how many tests were rerun (those that entered the unit in the reference run).
        lost: test id -> (group, points) of each test that passed on the reference and not with the stub.
        refused: group -> the test ids whose loss that group may not have (neither ``units`` nor
            ``depends_on``).
        cached: whether the outcome came from the cache.
        problem: why the unit could not be measured (the run gave no results), or None.
    """

    unit: str
    tests_run: int
    lost: dict[str, tuple[str, float]] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)
    cached: bool = False
    problem: str | None = None

    def by_group(self) -> dict[str, float]:
        """Points lost per group."""
        totals: dict[str, float] = {}
        for group, points in self.lost.values():
            totals[group] = totals.get(group, 0.0) + points
        return totals

    def row(self) -> dict[str, Any]:
        """The outcome as the report's dict keeps it (release.json, the web gate page)."""
        return {"unit": self.unit, "tests_run": self.tests_run, "cached": self.cached,
                "problem": self.problem,
                "points_lost": {group: round(points, 6) for group, points in self.by_group().items()},
                "refused": {group: tests for group, tests in self.refused.items()}}


@dataclass
class Planned:
    """One unit's run still to make: its staged submission and the tests it reruns."""

    unit: Unit
    submission: Path  # holds beras/: the solved submission with the unit's file stubbed
    tests_file: Path  # JSON list of the test ids to rerun
    tests: list[str]
    key: str

    def files(self) -> list[str]:
        """The test files that hold ``tests``, relative to the assignment folder."""
        return sorted({test.split("::")[0] for test in self.tests})


def plan(assignment: Assignment, trees: Trees, solved: Path, stage: Path, calls_by_test: dict[str, list[str]],
         test_ids: list[str], base: str) -> list[UnitOutcome | Planned]:
    """Decide each unit's run: answered already (no test enters it, or cached), or staged under ``stage``.

    Args:
        assignment: the assignment (its groups judge the losses).
        trees: the rendered trees (``stubbed`` lists the units, ``sources`` the marked files).
        solved: the folder holding the reference as a student would submit it (``beras/``).
        stage: an empty folder for the staged submissions.
        calls_by_test: test id -> the functions it entered in the reference run (``--trace-calls``).
        test_ids: every public and hidden test id, in run order.
        base: ``base_key`` of this gate run.

    Returns:
        In unit order, each unit's outcome where it is known without a run, else its run to make.
    """
    steps: list[UnitOutcome | Planned] = []
    for rel, stubbed in sorted(trees.stubbed.items()):
        for unit in units_of(rel, trees.sources[rel], stubbed):
            tests = affected_tests(unit, calls_by_test, test_ids)
            if not tests:
                steps.append(UnitOutcome(unit.name, 0))
                continue
            rendered = render_one_stubbed(trees.sources[rel], f"beras/{rel}", unit.qualname).text
            key = unit_key(base, unit, rendered, tests)
            found = cached_outcome(key, unit, assignment)
            if found is not None:
                steps.append(found)
                continue
            folder = stage / f"{len(steps):03d}"
            shutil.copytree(solved / "beras", folder / "beras",
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            (folder / "beras" / rel).write_text(rendered, encoding="utf-8")
            tests_file = folder / "tests.json"
            tests_file.write_text(json.dumps(tests))
            steps.append(Planned(unit, folder, tests_file, tests, key))
    return steps


def affected_tests(unit: Unit, calls_by_test: dict[str, list[str]], test_ids: Iterable[str]) -> list[str]:
    """The tests whose result stubbing ``unit`` can change: those entering its function (all, outside one)."""
    if not unit.in_function:
        return list(test_ids)
    return [test for test in test_ids if unit.name in calls_by_test.get(test, ())]


def outcome(unit: Unit, run: SuiteRun, reference_passed: set[str], assignment: Assignment,
            tests_run: int) -> UnitOutcome:
    """Compare one unit's run with the reference run and judge each loss against the groups' declarations."""
    if not run.results or run.problem:
        return UnitOutcome(unit.name, tests_run, problem=run.problem or "the run gave no results")
    groups = {group.group: group for group in assignment.points}
    found = UnitOutcome(unit.name, tests_run)
    for test in run.tests():
        if test.status == "passed" or test.name not in reference_passed or test.max_score <= 0:
            continue
        group = test.group or "(no group)"
        found.lost[test.name] = (group, test.max_score)
        if group not in groups or not groups[group].may_lose_to(unit.name):
            found.refused.setdefault(group, []).append(test.name)
    return found


def cached_outcome(key: str, unit: Unit, assignment: Assignment) -> UnitOutcome | None:
    """The outcome stored under ``key``, judged against the groups' current declarations; None if absent."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        stored = json.loads((folder / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None
    groups = {group.group: group for group in assignment.points}
    found = UnitOutcome(unit.name, int(stored["tests_run"]), cached=True)
    for test, (group, points) in stored["lost"].items():
        found.lost[test] = (group, float(points))
        if group not in groups or not groups[group].may_lose_to(unit.name):
            found.refused.setdefault(group, []).append(test)
    return found


def store(key: str, found: UnitOutcome) -> None:
    """Keep a measured outcome (never one with a problem) for the next gate run with the same inputs."""
    folder = cache_dir()
    if folder is None or found.problem:
        return
    keep(folder, key, {"unit": found.unit, "tests_run": found.tests_run,
                       "lost": {test: list(loss) for test, loss in found.lost.items()}})


def keep(folder: Path, key: str, entry: dict[str, Any]) -> None:
    """Write ``folder/<key>.json`` whole or not at all (a reader never sees half an entry)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{key}.json.{os.getpid()}.partial"
        partial.write_text(json.dumps(entry))
        partial.replace(folder / f"{key}.json")
    except OSError:
        return  # a cache that cannot be written only costs time


def cache_dir() -> Path | None:
    """Where outcomes are cached: ``$GRADER_BLAST_CACHE`` (``off``: nowhere), else the user's cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "beras-grader" / "blast"


def tree_digest(*roots: Path) -> str:
    """A digest of every file under ``roots`` (paths and bytes), caches and bytecode left out."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            rel = path.relative_to(root)
            if _SKIPPED & set(rel.parts) or path.suffix == ".pyc":
                continue
            digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def base_key(assignment_dir: Path, reference: Path, submission: Path, seed: int, all_ids: list[str]) -> str:
    """The digest of what all units' runs share: tests, reference, solved code, harness, versions, seed."""
    import numpy
    import pytest

    harness = Path(__file__).resolve().parents[1] / "harness"
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for part in (tree_digest(assignment_dir), tree_digest(reference), tree_digest(submission),
                 tree_digest(harness), str(seed), json.dumps(all_ids), sys.version, platform.machine(),
                 numpy.__version__, pytest.__version__):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def unit_key(base: str, unit: Unit, rendered: str, selected: list[str]) -> str:
    """The digest of one unit's run: the shared inputs, the unit's stubbed file and the tests it reruns."""
    parts = (base, unit.name, rendered, json.dumps(selected))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def describe(outcomes: list[UnitOutcome], assignment: Assignment) -> tuple[list[str], list[str]]:
    """The table (one line per unit) and the refusals (one line per unit and group) for the gate's report."""
    width = max([len(found.unit) for found in outcomes] + [4])
    table = [f"{'unit':<{width}}  tests  points lost by group (! = refused)"]
    refusals = []
    points = {group.group: group for group in assignment.points}
    order = {name: index for index, name in enumerate(points)}  # groups as assignment.toml lists them
    for found in outcomes:
        if found.problem:
            table.append(f"{found.unit:<{width}}  {found.tests_run:>5}  not measured: {found.problem}")
            refusals.append(f"{found.unit}: not measured: {found.problem}")
            continue
        in_order = sorted(found.by_group().items(), key=lambda item: order.get(item[0], len(order)))
        losses = ", ".join(f"{group} {lost:g}{'!' if group in found.refused else ''}"
                           for group, lost in in_order)
        table.append(f"{found.unit:<{width}}  {found.tests_run:>5}  {losses or 'nothing'}")
        for group, tests in found.refused.items():
            lost = sum(found.lost[test][1] for test in tests)
            shown = ", ".join(tests[:6]) + (f" and {len(tests) - 6} more" if len(tests) > 6 else "")
            why = "does not list it in units or depends_on" if group in points else "is no [[points]] group"
            refusals.append(f"{found.unit} costs {lost:g} points in group {group!r}, which {why}: {shown}")
    return table, refusals
