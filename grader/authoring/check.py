"""``beras-grader check``: what one grading run says about an assignment, as lines a TA reads (no publishing).

The grading itself is the caller's (the CLI composes it with the worker); this module turns an assignment,
its test ids and graded results into verdicts: the test -> group -> points table, each planted bug's lost
groups against the groups it declares, and the tests whose outcome differs between seeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from grader.authoring.build import ownership
from grader.authoring.config import (
    Assignment,
    AssignmentConfigError,
    PointsError,
    assign_points,
    load_assignment,
)
from grader.authoring.release import stage_autograder
from grader.result import GradeResult


@dataclass
class Section:
    """One part of the check's report: a title, whether it passed, and its lines."""

    title: str
    ok: bool
    lines: list[str] = field(default_factory=list)

    def format(self) -> str:
        head = f"[{'ok' if self.ok else 'FAIL':>4}] {self.title}"
        return "\n".join([head, *(f"    {line}" for line in self.lines)])


def points_table(assignment: Assignment, test_ids: Sequence[str]) -> Section:
    """Each test id, its group and points; every points problem when the groups and tests do not pair up."""
    try:
        points = assign_points(assignment, test_ids)
    except PointsError as error:
        return Section("tests -> groups -> points", False, list(error.problems))
    # One row per test function and group: a parametrized test's cases share their group and points.
    rows: dict[tuple[str, str, float], int] = {}
    for tid, entry in points.items():
        key = (tid.split("[", 1)[0] + ("[*]" if "[" in tid else ""), entry.group, entry.points)
        rows[key] = rows.get(key, 0) + 1
    width = max((len(test) for test, _, _ in rows), default=10)
    lines = [f"{test:<{width}}  {group}  {each:g}" + (f" each x {count}" if count > 1 else "")
             for (test, group, each), count in rows.items()]
    totals: dict[str, float] = {}
    for entry in points.values():
        totals[entry.group] = totals.get(entry.group, 0.0) + entry.points
    lines.append("groups: " + ", ".join(f"{group} {total:g}" for group, total in totals.items())
                 + f"; total {sum(totals.values()):g}")
    return Section(f"tests -> groups -> points ({len(points)} tests)", True, lines)


def sample_line(name: str, expected: Sequence[str] | None, result: GradeResult) -> tuple[bool, str]:
    """Whether a graded sample scored as declared, and a line saying so.

    Args:
        name: the sample's name (``reference``, ``starter``, a samples/*.toml stem).
        expected: the groups it must lose; () for full marks; None for a score of 0.
        result: its grade result.
    """
    score = f"{result.score:g}/{result.max_score:g}"
    if not result.graded:
        reason = result.output.strip().splitlines()[:1]
        return False, f"{name}: not graded ({result.status}): {reason[0] if reason else 'no reason given'}"
    lost = result.lost_groups()
    if expected is None:
        ok = result.score == 0
        return ok, f"{name}: {score}" + ("" if ok else f"; expected 0 (groups that scored: "
                                         f"{', '.join(_scored_groups(result)) or 'none'})")
    if not expected:
        ok = not lost
        return ok, f"{name}: {score}" + ("" if ok else f"; expected full marks, lost in: {', '.join(lost)}")
    missing, extra = [g for g in expected if g not in lost], [g for g in lost if g not in expected]
    ok = not missing and not extra
    line = f"{name}: {score}, lost {', '.join(lost) or 'nothing'}"
    if missing:
        line += f"; declared but not lost (a test too weak to catch the bug?): {', '.join(missing)}"
    if extra:
        line += ("; lost but not declared (declare it, or keep the group's tests off this code): "
                 f"{', '.join(extra)}")
    return ok, line


def _scored_groups(result: GradeResult) -> list[str]:
    return list(dict.fromkeys(test.group for test in result.tests if test.score > 0))


def flaky_tests(runs: Sequence[tuple[int, GradeResult]]) -> list[str]:
    """The tests whose outcome differs between the reference's runs, each with its outcome per seed.

    Args:
        runs: (seed, grade result) of the same submission under different seeds.
    """
    outcomes: dict[str, dict[int, str]] = {}
    for seed, result in runs:
        for test in result.tests:
            outcomes.setdefault(test.name, {})[seed] = test.status.value
    seeds = [seed for seed, _ in runs]
    flaky = []
    for name, by_seed in outcomes.items():
        seen = [by_seed.get(seed, "missing") for seed in seeds]
        if len(set(seen)) > 1:
            flaky.append(f"{name}: "
                         + ", ".join(f"seed {seed} {outcome}" for seed, outcome in zip(seeds, seen)))
    return flaky


class Graded(Protocol):
    """A sample as the check grades it (``worker.grading.samples.Sample`` is one)."""

    name: str
    zip_bytes: bytes
    losing_groups: tuple[str, ...] | None


def check_config(folder: Path, reference: Path, scratch: Path) -> tuple[list[Section], Path | None]:
    """The config and points-table sections of ``folder``, and its autograder staged in ``scratch``.

    Args:
        folder: the assignment folder (holding assignment.toml).
        reference: the marked reference package.
        scratch: an empty folder to stage the autograder in (without the gate).

    Returns:
        The sections so far, and the staged autograder folder, or None when a section failed (nothing to
        grade).
    """
    try:
        loaded = load_assignment(folder, reference_root=reference)
        staged = stage_autograder(folder, scratch, reference_package=reference)
    except AssignmentConfigError as error:
        return [Section("config", False, list(error.problems))], None
    # Other folders' problems do not stop this assignment; say what they are, as the gate's notes do.
    others = ownership(folder.parent, reference, loaded.name).notes
    config = Section(f"config ({loaded.name})", True, [f"owned: {', '.join(loaded.files.owned)}",
                                                       *(f"note: {note}" for note in others)])
    table = points_table(loaded, json.loads((staged / "test-ids.json").read_text()))
    return [config, table], staged if table.ok else None


def grade_sections(batch: Sequence[Graded], broken: Sequence[str], grade: Callable[[bytes, int], GradeResult],
                   first: int, seeds: int) -> list[Section]:
    """Grade each sample once under ``first`` and the reference under ``seeds`` seeds; their sections.

    Args:
        batch: the reference first, the starter, then each planted-bug sample.
        broken: the errors of sample files that could not be built.
        grade: grades a zip under a seed (the caller composes it with a sandbox).
        first: the first seed; the others follow it.
        seeds: how many seeds the reference runs under (flaky tests).
    """
    sections = [Section("samples/*.toml", False, list(broken))] if broken else []
    reference_runs = []
    samples = Section(f"samples (seed {first})", True)
    for sample in batch:
        result = grade(sample.zip_bytes, first)
        if sample.name == "reference":
            reference_runs.append((first, result))
        ok, line = sample_line(sample.name, sample.losing_groups, result)
        samples.ok &= ok
        samples.lines.append(line)
    if len(batch) <= 2:
        samples.lines.append("no samples/*.toml: plant a bug per group to see that its tests catch it")
    run_seeds = [(first + i) % 2**31 for i in range(seeds)]
    reference_runs += [(run_seed, grade(batch[0].zip_bytes, run_seed)) for run_seed in run_seeds[1:]]
    flaky = flaky_tests(reference_runs)
    unsteady = Section(f"reference under {seeds} seed(s) ({', '.join(map(str, run_seeds))})", not flaky)
    unsteady.lines = flaky or ["every test has the same outcome under every seed"]
    if flaky:
        unsteady.lines.append("seed Beras's generator in the test (student.beras.set_seed(seed), and the "
                              "reference's), and draw inputs from the `rng` fixture")
    return [*sections, samples, unsteady]


def verdict(sections: Sequence[Section]) -> tuple[str, bool]:
    """The report: every section, then ``check: all well`` or what to fix; and whether all is well."""
    failed = [section.title for section in sections if not section.ok]
    text = "\n".join(section.format() for section in sections)
    return text + f"\n\ncheck: {'fix: ' + '; '.join(failed) if failed else 'all well'}", not failed
