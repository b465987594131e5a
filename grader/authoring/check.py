"""``beras-grader check``: what one grading run says about an assignment, as lines a TA reads (no publishing).

The grading itself is the caller's (the CLI composes it with the worker); this module turns an assignment,
its test ids and graded results into verdicts: the test -> group -> points table, each planted bug's lost
groups against the groups it declares, and the tests whose outcome differs between seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from grader.authoring.config import Assignment, PointsError, assign_points
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
